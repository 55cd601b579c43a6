// The training loop's decisions (TrainingCadence): each made once, for a position.
#include "train/training_cadence.h"

#include <gtest/gtest.h>

#include <vector>

namespace hesp::train {
namespace {

TrainingCadence::Settings settings() {
  TrainingCadence::Settings s;
  s.total_epochs = 6;
  s.steps_per_epoch = 5;
  s.log_every_steps = 3;
  s.evaluate_every_epochs = 2;
  s.checkpoint_every_epochs = 2;
  s.max_epochs_this_run = 0;
  return s;
}

TEST(TrainingCadence, LogsEveryNGlobalSteps) {
  const TrainingCadence c(settings());
  EXPECT_FALSE(c.after_step({0, 1}, StepAction::kNone).log);
  EXPECT_TRUE(c.after_step({0, 3}, StepAction::kNone).log);
  EXPECT_TRUE(c.after_step({1, 1}, StepAction::kNone).log) << "global step 6";
  EXPECT_EQ(c.global_step({2, 4}), 14);
}

TEST(TrainingCadence, MidEpochActionsActAtOnce) {
  const TrainingCadence c(settings());
  const auto stop = c.after_step({1, 2}, StepAction::kCheckpointAndStop);
  EXPECT_TRUE(stop.checkpoint);
  EXPECT_TRUE(stop.stop);
  EXPECT_EQ(stop.deferred, StepAction::kNone);
  const auto ckpt = c.after_step({1, 2}, StepAction::kCheckpoint);
  EXPECT_TRUE(ckpt.checkpoint);
  EXPECT_FALSE(ckpt.stop);
  const auto none = c.after_step({1, 2}, StepAction::kNone);
  EXPECT_FALSE(none.checkpoint || none.stop);
}

TEST(TrainingCadence, AnActionOnAnEpochsLastStepWaitsForItsRecord) {
  const TrainingCadence c(settings());
  const auto d = c.after_step({0, 5}, StepAction::kCheckpointAndStop);
  EXPECT_FALSE(d.checkpoint) << "the epoch's end checkpoints, after the record";
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.deferred, StepAction::kCheckpointAndStop);
  const auto e = c.after_epoch(0, 1, d.deferred);
  EXPECT_TRUE(e.checkpoint);
  EXPECT_TRUE(e.stop);
  const auto k = c.after_epoch(0, 1, StepAction::kCheckpoint);
  EXPECT_TRUE(k.checkpoint);
  EXPECT_FALSE(k.stop);
}

TEST(TrainingCadence, EvaluatesAndCheckpointsOnTheirEpochs) {
  const TrainingCadence c(settings());
  EXPECT_FALSE(c.after_epoch(0, 1, StepAction::kNone).evaluate);
  EXPECT_FALSE(c.after_epoch(0, 1, StepAction::kNone).checkpoint);
  EXPECT_TRUE(c.after_epoch(1, 2, StepAction::kNone).evaluate);
  EXPECT_TRUE(c.after_epoch(1, 2, StepAction::kNone).checkpoint);
  // The last epoch: no evaluation (the final one follows), always a checkpoint, no stop.
  const auto last = c.after_epoch(5, 6, StepAction::kNone);
  EXPECT_FALSE(last.evaluate);
  EXPECT_TRUE(last.checkpoint);
  EXPECT_FALSE(last.stop);
}

TEST(TrainingCadence, MaxEpochsThisRunStopsWithOneCheckpoint) {
  auto s = settings();
  s.max_epochs_this_run = 2;
  const TrainingCadence c(s);
  EXPECT_FALSE(c.after_epoch(2, 1, StepAction::kNone).stop);
  // Epoch 4 (0-based 3) is both a checkpoint.every_epochs epoch and the run's second: one
  // decision, one checkpoint.
  const auto d = c.after_epoch(3, 2, StepAction::kNone);
  EXPECT_TRUE(d.stop);
  EXPECT_TRUE(d.checkpoint);
  // Not after the last epoch: the run finishes instead.
  EXPECT_FALSE(c.after_epoch(5, 2, StepAction::kNone).stop);
}

// Model selection's timing (spec §9): the validation hold-out, when there is one, every
// eval.every_epochs epochs and on the last epoch (which the test set's evaluation skips).
TEST(TrainingCadence, ValidatesEveryNEpochsAndOnTheLastWithAHoldOut) {
  auto s = settings();
  s.total_epochs = 5;  // The last epoch (5) is not a multiple of eval.every_epochs (2).
  s.has_validation = true;
  const TrainingCadence c(s);
  const std::vector<bool> expected = {false, true, false, true, true};
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    const auto d = c.after_epoch(epoch, static_cast<int>(epoch) + 1, StepAction::kNone);
    EXPECT_EQ(d.validate, expected[static_cast<size_t>(epoch)]) << "epoch " << epoch + 1;
  }
  const auto last = c.after_epoch(4, 5, StepAction::kNone);
  EXPECT_TRUE(last.validate);
  EXPECT_FALSE(last.evaluate) << "the final evaluation follows the last epoch";
  // On an evaluation epoch the test set and the hold-out are both evaluated.
  const auto both = c.after_epoch(3, 4, StepAction::kNone);
  EXPECT_TRUE(both.evaluate);
  EXPECT_TRUE(both.validate);
}

TEST(TrainingCadence, NeverValidatesWithoutAHoldOut) {
  auto s = settings();
  s.has_validation = false;
  const TrainingCadence c(s);
  for (int64_t epoch = 0; epoch < s.total_epochs; ++epoch) {
    EXPECT_FALSE(c.after_epoch(epoch, static_cast<int>(epoch) + 1, StepAction::kNone).validate)
        << "epoch " << epoch + 1;
  }
  EXPECT_TRUE(c.after_epoch(1, 2, StepAction::kNone).evaluate) << "the test set still is";
}

TEST(TrainingCadence, ValidatesBeforeAStopOnItsEpochs) {
  auto s = settings();
  s.has_validation = true;
  s.max_epochs_this_run = 1;
  s.evaluate_every_epochs = 3;
  const TrainingCadence c(s);
  // A stop after epoch 3 (an evaluation epoch) still evaluates: the record comes first.
  const auto stop = c.after_epoch(2, 1, StepAction::kNone);
  EXPECT_TRUE(stop.stop);
  EXPECT_TRUE(stop.validate);
  const auto preempted = c.after_epoch(1, 1, StepAction::kCheckpointAndStop);
  EXPECT_TRUE(preempted.stop);
  EXPECT_FALSE(preempted.validate) << "epoch 2 is not an evaluation epoch";
  // A resumed run validates on the same epochs as an uninterrupted one.
  EXPECT_TRUE(c.after_epoch(5, 1, StepAction::kNone).validate) << "epoch 6: every 3rd, last";
  EXPECT_FALSE(c.after_epoch(4, 1, StepAction::kNone).validate);
}

}  // namespace
}  // namespace hesp::train
