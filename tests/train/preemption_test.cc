// Preemption flags and their agreement across ranks. Under mpirun -np 2 only the LAST rank
// receives the signal, and every rank must still decide to stop at the same poll.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <optional>

#include "comm/root_decision.h"
#include "test_support.h"
#include "train/preemption.h"
#include "util/stop_signal.h"

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

// The handler is the process's (util/stop_signal.h) and stays after a guard is gone: a
// signal between two runs of a sweep, or while a sweep plans, sets the flag instead of
// killing the process with 128 + SIGUSR1 = 138.
TEST_F(Preemption, HandlersStayAfterTheGuard) {
  { PreemptionGuard guard; }
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGUSR1), 0);  // Without a handler this would end the process.
    EXPECT_TRUE(util::stop_requested());
    EXPECT_EQ(util::stop_signal(), SIGUSR1);
  } else {
    EXPECT_FALSE(util::stop_requested());
  }
  EXPECT_TRUE(comm::stop_requested_on_any_rank(world()));
  // A guard made after the signal sees it: the trainer of the next run stops at once.
  PreemptionGuard next;
  EXPECT_EQ(next.poll(world()), StepAction::kCheckpointAndStop);
  EXPECT_STREQ(step_action_name(StepAction::kCheckpointAndStop), "checkpoint_and_stop");
}

// catch_stop_signals is what `hesp sweep` and `hesp-pack convert` call first thing, with no
// guard at all: SIGTERM (the time limit) and SIGHUP set flags, and every rank agrees.
TEST_F(Preemption, ProcessHandlersWithoutAGuard) {
  util::catch_stop_signals();
  util::catch_stop_signals();  // Idempotent.
  if (is_signalled_rank()) {
    EXPECT_EQ(std::raise(SIGTERM), 0);
    EXPECT_EQ(std::raise(SIGHUP), 0);
    EXPECT_EQ(util::stop_signal(), SIGTERM);
  }
  EXPECT_TRUE(comm::stop_requested_on_any_rank(world()));
  EXPECT_EQ(comm::any_rank(world(), false), false);
  EXPECT_EQ(comm::any_rank(world(), world().rank() == 0), true);
  EXPECT_EQ(util::take_checkpoint_request(), is_signalled_rank());
  EXPECT_FALSE(util::take_checkpoint_request());  // Consumed.
}

}  // namespace
}  // namespace hesp::train
