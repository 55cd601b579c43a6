#include "util/stop_signal.h"

#include <glog/logging.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace hesp::util {
namespace {

// Written from the signal handler: lock-free atomics are async-signal-safe, anything
// else (logging, allocation, MPI) is not and waits for the next poll.
std::atomic<int> g_stop_signal{0};
std::atomic<int> g_checkpoint_requested{0};
static_assert(std::atomic<int>::is_always_lock_free, "signal flags must be lock-free");

extern "C" void hesp_on_stop_signal(int sig) {
  g_stop_signal.store(sig, std::memory_order_relaxed);
}
extern "C" void hesp_on_checkpoint_signal(int) {
  g_checkpoint_requested.store(1, std::memory_order_relaxed);
}

void install(int sig, void (*handler)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a signal during a blocking read or MPI progress call must not turn into
  // a spurious EINTR failure; the flag is enough.
  sa.sa_flags = SA_RESTART;
  PCHECK(sigaction(sig, &sa, nullptr) == 0) << "sigaction(" << sig << ")";
}

}  // namespace

void catch_stop_signals() {
  install(SIGUSR1, hesp_on_stop_signal);
  install(SIGTERM, hesp_on_stop_signal);
  install(SIGHUP, hesp_on_checkpoint_signal);
}

bool stop_requested() { return g_stop_signal.load(std::memory_order_relaxed) != 0; }

int stop_signal() { return g_stop_signal.load(std::memory_order_relaxed); }

bool take_checkpoint_request() { return g_checkpoint_requested.exchange(0) != 0; }

void clear_stop_flags() {
  g_stop_signal.store(0);
  g_checkpoint_requested.store(0);
}

}  // namespace hesp::util
