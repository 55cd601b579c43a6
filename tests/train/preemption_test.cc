// Preemption flags and their agreement across ranks. Under mpirun -np 2 only the LAST rank
// receives the signal, and every rank must still decide to stop at the same poll.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <optional>

#include "test_support.h"
#include "train/preemption.h"

namespace hesp::train {
namespace {

using testing::world;

// The rank that gets the signal: the last one (rank 1 under -np 2, rank 0 alone).
bool is_signalled_rank() { return world().rank() == world().size() - 1; }

class Preemption : public ::testing::Test {
 protected:
  void SetUp() override { PreemptionGuard::clear_flags(); }
  void TearDown() override { PreemptionGuard::clear_flags(); }
};

TEST_F(Preemption, NoSignalNoAction) {
  PreemptionGuard guard;
  EXPECT_FALSE(guard.should_stop(world()));
  EXPECT_EQ(guard.poll(world()), StepAction::kNone);
}

TEST_F(Preemption, Sigusr1OnOneRankStopsAllRanks) {
  PreemptionGuard guard;
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGUSR1), 0);
    EXPECT_TRUE(guard.stop_requested_locally());
    EXPECT_EQ(guard.stop_signal(), SIGUSR1);
  } else {
    EXPECT_FALSE(guard.stop_requested_locally());
  }
  EXPECT_TRUE(guard.should_stop(world()));
  // The request stays: the next poll still says stop.
  EXPECT_EQ(guard.poll(world()), StepAction::kCheckpointAndStop);
  EXPECT_EQ(guard.poll(world()), StepAction::kCheckpointAndStop);
}

TEST_F(Preemption, SigtermStops) {
  PreemptionGuard guard;
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGTERM), 0);
  }
  EXPECT_EQ(guard.poll(world()), StepAction::kCheckpointAndStop);
}

TEST_F(Preemption, SighupRequestsOneCheckpoint) {
  PreemptionGuard guard;
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGHUP), 0);
  }
  EXPECT_FALSE(guard.should_stop(world()));
  EXPECT_EQ(guard.poll(world()), StepAction::kCheckpoint);
  EXPECT_EQ(guard.poll(world()), StepAction::kNone);  // Consumed.
}

TEST_F(Preemption, CheckpointNowFileSeenByRankZero) {
  auto& c = world();
  // One directory for all ranks (rank 0 owns it); only rank 0 looks into it.
  std::optional<testing::TempDir> owned;
  if (c.rank() == 0) owned.emplace();
  const std::filesystem::path dir = c.broadcast_string(owned ? owned->path().string() : "", 0);
  {
    PreemptionGuard guard(dir);
    EXPECT_EQ(guard.poll(c), StepAction::kNone);
    if (c.rank() == 0) std::ofstream(dir / "CHECKPOINT_NOW") << "";
    EXPECT_EQ(guard.poll(c), StepAction::kCheckpoint);
    if (c.rank() == 0) {
      EXPECT_FALSE(std::filesystem::exists(dir / "CHECKPOINT_NOW"));
    }
    EXPECT_EQ(guard.poll(c), StepAction::kNone);
  }
  c.barrier();
}

TEST_F(Preemption, StopWinsOverCheckpoint) {
  PreemptionGuard guard;
  if (world().rank() == 0) {
    EXPECT_EQ(std::raise(SIGHUP), 0);
  }
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGTERM), 0);
  }
  EXPECT_EQ(guard.poll(world()), StepAction::kCheckpointAndStop);
}

int g_previous_handler_calls = 0;
extern "C" void previous_handler(int) { ++g_previous_handler_calls; }

TEST_F(Preemption, GuardRestoresPreviousHandlers) {
  struct sigaction mine {
  }, old{};
  mine.sa_handler = previous_handler;
  sigemptyset(&mine.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &mine, &old), 0);
  {
    PreemptionGuard guard;
    std::raise(SIGUSR1);
    EXPECT_EQ(g_previous_handler_calls, 0);  // Ours, not the previous one.
    EXPECT_TRUE(guard.stop_requested_locally());
  }
  std::raise(SIGUSR1);
  EXPECT_EQ(g_previous_handler_calls, 1);  // Restored.
  ASSERT_EQ(sigaction(SIGUSR1, &old, nullptr), 0);
  EXPECT_STREQ(step_action_name(StepAction::kCheckpointAndStop), "checkpoint_and_stop");
}

}  // namespace
}  // namespace hesp::train
