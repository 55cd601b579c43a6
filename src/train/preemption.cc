#include "train/preemption.h"

#include <glog/logging.h>

#include <atomic>
#include <cstring>
#include <utility>

namespace hesp::train {
namespace {

// Written from the signal handler: lock-free atomics are async-signal-safe, anything
// else (logging, allocation, MPI) is not and waits for the next poll.
std::atomic<int> g_stop_signal{0};
std::atomic<int> g_checkpoint_requested{0};
std::atomic<bool> g_guard_active{false};
static_assert(std::atomic<int>::is_always_lock_free, "signal flags must be lock-free");

extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig, std::memory_order_relaxed); }
extern "C" void on_checkpoint_signal(int) {
  g_checkpoint_requested.store(1, std::memory_order_relaxed);
}

void install(int sig, void (*handler)(int), struct sigaction* old) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a signal during a blocking read or MPI progress call must not turn into
  // a spurious EINTR failure; the flag is enough.
  sa.sa_flags = SA_RESTART;
  PCHECK(sigaction(sig, &sa, old) == 0) << "sigaction(" << sig << ")";
}

}  // namespace

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

void catch_preemption_signals_for_process() {
  install(SIGUSR1, on_stop_signal, nullptr);
  install(SIGTERM, on_stop_signal, nullptr);
  install(SIGHUP, on_checkpoint_signal, nullptr);
}

bool stop_signal_received() { return g_stop_signal.load(std::memory_order_relaxed) != 0; }

PreemptionGuard::PreemptionGuard(std::filesystem::path run_dir) {
  CHECK(!g_guard_active.exchange(true)) << "only one PreemptionGuard may be active";
  if (!run_dir.empty()) trigger_file_ = std::move(run_dir) / "CHECKPOINT_NOW";
  install(SIGUSR1, on_stop_signal, &old_usr1_);
  install(SIGTERM, on_stop_signal, &old_term_);
  install(SIGHUP, on_checkpoint_signal, &old_hup_);
}

PreemptionGuard::~PreemptionGuard() {
  sigaction(SIGUSR1, &old_usr1_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGHUP, &old_hup_, nullptr);
  g_guard_active.store(false);
}

bool PreemptionGuard::stop_requested_locally() const {
  return g_stop_signal.load(std::memory_order_relaxed) != 0;
}

int PreemptionGuard::stop_signal() const { return g_stop_signal.load(std::memory_order_relaxed); }

bool PreemptionGuard::should_stop(comm::Communicator& comm) const {
  return comm.all_reduce_int(stop_requested_locally() ? 1 : 0, comm::ReduceOp::kMax) != 0;
}

StepAction PreemptionGuard::poll(comm::Communicator& comm) {
  bool file_request = false;
  if (comm.is_root() && !trigger_file_.empty()) {
    std::error_code ec;
    file_request = std::filesystem::exists(trigger_file_, ec);
  }
  // Consume the local checkpoint request now: a SIGHUP arriving after this load is kept
  // for the next poll instead of being lost.
  const bool signal_request = g_checkpoint_requested.exchange(0) != 0;
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

void PreemptionGuard::clear_flags() {
  g_stop_signal.store(0);
  g_checkpoint_requested.store(0);
}

}  // namespace hesp::train
