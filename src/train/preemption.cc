#include "train/preemption.h"

#include <glog/logging.h>

#include <cstring>
#include <utility>

#include "comm/root_decision.h"
#include "run/run_directory.h"
#include "util/stop_signal.h"

namespace hesp::train {

const char* step_action_name(StepAction a) {
  switch (a) {
    case StepAction::kNone:
      return "none";
    case StepAction::kCheckpoint:
      return "checkpoint";
    case StepAction::kCheckpointAndStop:
      return "checkpoint_and_stop";
  }
  return "?";
}

PreemptionGuard::PreemptionGuard(std::filesystem::path run_dir) {
  util::catch_stop_signals();
  if (!run_dir.empty()) trigger_file_ = run::RunDirectory(std::move(run_dir)).checkpoint_request();
}

bool PreemptionGuard::stop_requested_locally() const { return util::stop_requested(); }

int PreemptionGuard::stop_signal() const { return util::stop_signal(); }

bool PreemptionGuard::should_stop(comm::Communicator& comm) const {
  return comm::stop_requested_on_any_rank(comm);
}

StepAction PreemptionGuard::poll(comm::Communicator& comm) {
  bool file_request = false;
  if (comm.is_root() && !trigger_file_.empty()) {
    std::error_code ec;
    file_request = std::filesystem::exists(trigger_file_, ec);
  }
  // Consume the local checkpoint request now: a SIGHUP arriving after this load is kept
  // for the next poll instead of being lost.
  const bool signal_request = util::take_checkpoint_request();
  auto flags = torch::tensor({static_cast<int64_t>(stop_requested_locally()),
                              static_cast<int64_t>(signal_request || file_request)},
                             torch::kInt64);
  comm.all_reduce(flags, comm::ReduceOp::kMax);
  const bool stop = flags[0].item<int64_t>() != 0;
  const bool checkpoint = flags[1].item<int64_t>() != 0;
  if (file_request) {
    std::error_code ec;
    std::filesystem::remove(trigger_file_, ec);
    if (ec) LOG(WARNING) << "cannot remove " << trigger_file_ << ": " << ec.message();
  }
  if (stop) {
    if (comm.is_root()) {
      LOG(WARNING) << "preemption requested"
                   << (stop_signal() != 0 ? std::string(" by signal ") + strsignal(stop_signal())
                                          : std::string(" on another rank"))
                   << ": checkpointing and stopping";
    }
    return StepAction::kCheckpointAndStop;
  }
  if (checkpoint) {
    if (comm.is_root()) LOG(INFO) << "checkpoint requested (SIGHUP or CHECKPOINT_NOW)";
    return StepAction::kCheckpoint;
  }
  return StepAction::kNone;
}

void PreemptionGuard::clear_flags() { util::clear_stop_flags(); }

}  // namespace hesp::train
