#pragma once
// Cooperative preemption in the trainer. The stop source is the process's one
// (util/stop_signal.h: SIGUSR1/SIGTERM stop, SIGHUP checkpoints); the training loop polls
// it once per step and once after every epoch. The poll is a collective, so every rank sees
// the same decision at the same point even when only one rank got the signal, writes the
// same checkpoint and exits with kExitPreempted (75).
//
// A checkpoint without stopping is requested by SIGHUP or by creating the file
// <run_dir>/CHECKPOINT_NOW (rank 0 looks for it and deletes it once acted on).
#include <filesystem>

#include "comm/communicator.h"
#include "data/loader/sampler.h"

namespace hesp::train {

enum class StepAction {
  kNone,
  kCheckpoint,         // Write a checkpoint and go on.
  kCheckpointAndStop,  // Write a checkpoint and exit with kExitPreempted.
};

const char* step_action_name(StepAction a);

// What the trainer asks after every step whether to checkpoint or stop (anchor: Caffe's
// Solver::SetActionFunction). The default is the PreemptionGuard below; tests inject one
// that acts at a given step. Collective: every rank must return the same action for the
// same step.
class StepActionSource {
 public:
  virtual ~StepActionSource() = default;
  // `next`: the position of the following step (step == steps per epoch after an
  // epoch's last step).
  virtual StepAction poll(comm::Communicator& comm, const data::SamplerPosition& next) = 0;
};

// The default action source: the process's stop source (util/stop_signal.h) and
// <run_dir>/CHECKPOINT_NOW. Construction installs the process's handlers (idempotent; they
// stay after the guard is gone, so that a signal between two runs of a sweep is kept, not
// fatal). Any number of guards may exist; they share the process's flags.
class PreemptionGuard final : public StepActionSource {
 public:
  // run_dir: where CHECKPOINT_NOW is looked for; empty = no file trigger.
  explicit PreemptionGuard(std::filesystem::path run_dir = {});
  PreemptionGuard(const PreemptionGuard&) = delete;
  PreemptionGuard& operator=(const PreemptionGuard&) = delete;

  // This process's flag only (no communication).
  bool stop_requested_locally() const;
  // The signal that asked to stop (0 = none yet), for the log line.
  int stop_signal() const;

  // Collective (exactly one all_reduce): true on every rank when any rank got a stop
  // signal.
  bool should_stop(comm::Communicator& comm) const;

  // Collective (exactly one all_reduce): the action every rank takes at this step.
  // A checkpoint request is consumed by the poll that reports it; a stop request stays.
  StepAction poll(comm::Communicator& comm);
  StepAction poll(comm::Communicator& comm, const data::SamplerPosition& /*next*/) override {
    return poll(comm);
  }

  // For tests: clears the process's flags as if no signal had arrived
  // (util::clear_stop_flags).
  static void clear_flags();

 private:
  std::filesystem::path trigger_file_;
};

}  // namespace hesp::train
