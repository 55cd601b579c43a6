#pragma once
// Cooperative preemption. Schedulers announce the end of a job with a signal (SLURM:
// SIGTERM at the time limit, or SIGUSR1 with `--signal=USR1@<secs>`); the handler only sets
// an atomic flag, and the training loop polls it once per step. The poll is a collective,
// so every rank sees the same decision at the same step even when only one rank got the
// signal, writes the same checkpoint and exits with kExitPreempted (75).
//
// A checkpoint without stopping is requested by SIGHUP or by creating the file
// <run_dir>/CHECKPOINT_NOW (rank 0 looks for it and deletes it once acted on).
#include <csignal>
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

// Installs the flag-setting handlers for the rest of the process's life. `hesp train`
// calls it first thing: a preemption signal that arrives while CLIP loads or the CAM
// boxes are computed is then acted on at the first step (instead of killing the rank
// without a checkpoint), and one that arrives after the run has finished, while MPI shuts
// down, is ignored (instead of turning a finished run into a failed job step).
void catch_preemption_signals_for_process();

// True once this process got a stop signal (SIGUSR1/SIGTERM); no communication.
bool stop_signal_received();

// Installs the handlers for SIGUSR1, SIGTERM (stop) and SIGHUP (checkpoint) and restores
// the previous ones on destruction. One guard at a time per process.
class PreemptionGuard final : public StepActionSource {
 public:
  // run_dir: where CHECKPOINT_NOW is looked for; empty = no file trigger.
  explicit PreemptionGuard(std::filesystem::path run_dir = {});
  ~PreemptionGuard() override;
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

  // For tests: clears the flags as if no signal had arrived.
  static void clear_flags();

 private:
  std::filesystem::path trigger_file_;
  struct sigaction old_usr1_ {};
  struct sigaction old_term_ {};
  struct sigaction old_hup_ {};
};

}  // namespace hesp::train
