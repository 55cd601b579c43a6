// The typed training state: its checkpoint part round-trips, and the running sums kept in
// a checkpoint give every rank the epoch means of an uninterrupted run. Runs as one
// process and under mpirun -np 2.
#include "train/training_state.h"

#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"

namespace hesp::train {
namespace {

TEST(TrainingState, PositionAndRunningSumsRoundTripThroughACheckpoint) {
  TrainingState s(optim::LrSchedule(0.1, 10, {3, 6}, 0.5));
  s.position = {4, 7};
  s.epoch.add_step({{"loss", 1.25}, {"loss/ce", 0.75}}, 0.5, 0.25, 2.0);
  s.epoch.add_step({{"loss", 0.5}, {"loss/ce", 1.0 / 3.0}}, 0.5, 0.25, 2.0);
  checkpoint::CheckpointState ckpt;
  s.save(&ckpt);
  EXPECT_EQ(ckpt.epoch, 4);
  EXPECT_EQ(ckpt.step, 7);
  const checkpoint::CheckpointState read =
      checkpoint::parse_checkpoint(checkpoint::serialize_checkpoint(ckpt), "memory");
  TrainingState r(optim::LrSchedule(0.1, 10, {3, 6}, 0.5));
  r.restore(read);
  EXPECT_EQ(r.position, s.position);
  EXPECT_EQ(r.epoch.steps, 2);
  EXPECT_EQ(r.epoch.loss_sums, s.epoch.loss_sums);  // Exact doubles.
  EXPECT_EQ(r.epoch.step_s, 4.0);
  EXPECT_EQ(r.epoch.data_wait_s, 1.0);
  EXPECT_EQ(r.epoch.allreduce_s, 0.5);
  EXPECT_DOUBLE_EQ(r.lr(), 0.05);  // Epoch 4: one milestone passed.
  r.start_next_epoch();
  EXPECT_EQ(r.position, (data::SamplerPosition{5, 0}));
  EXPECT_EQ(r.epoch.steps, 0);
  EXPECT_TRUE(r.epoch.loss_sums.empty());
}

TEST(TrainingState, RestoredSumsGiveTheUninterruptedEpochMeans) {
  auto comm = comm::world();
  const double r = comm->rank();
  // Six steps; each rank has its own losses.
  auto loss = [&](int step) { return 1.0 + 0.5 * step + 0.25 * r; };
  EpochStatistics straight;
  for (int i = 0; i < 6; ++i) straight.add_step({{"loss", loss(i)}}, 0, 0, 0);
  EpochStatistics before;
  for (int i = 0; i < 2; ++i) before.add_step({{"loss", loss(i)}}, 0, 0, 0);
  // The checkpoint keeps the mean over ranks of the sums; every rank restores that.
  checkpoint::CheckpointState ckpt;
  TrainingState s(optim::LrSchedule(0.1, 1, {}, 0.1));
  s.epoch = before.averaged_over_ranks(*comm);
  s.save(&ckpt);
  TrainingState resumed(optim::LrSchedule(0.1, 1, {}, 0.1));
  resumed.restore(ckpt);
  for (int i = 2; i < 6; ++i) resumed.epoch.add_step({{"loss", loss(i)}}, 0, 0, 0);
  const auto a = straight.mean_losses(*comm);
  const auto b = resumed.epoch.mean_losses(*comm);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NEAR(a.at("loss"), b.at("loss"), 1e-12);
  // The mean over ranks of each rank's mean: 1 + 0.5 * 2.5 + 0.25 * (size - 1) / 2.
  EXPECT_NEAR(a.at("loss"), 2.25 + 0.125 * (comm->size() - 1), 1e-12);
}

}  // namespace
}  // namespace hesp::train
