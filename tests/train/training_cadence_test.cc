// The training loop's decisions (TrainingCadence): each made once, for a position.
#include "train/training_cadence.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hesp::train
