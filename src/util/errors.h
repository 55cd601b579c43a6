#pragma once
// User-facing errors. Programming invariants use glog CHECK; everything a user can cause
// (bad config, bad file, bad dataset) throws one of these, is printed once at the top of
// main and turns into a documented exit code.
#include <stdexcept>
#include <string>

namespace hesp {

// Process exit codes (documented in docs/training.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // Runtime error: bad file, bad data, I/O failure.
  kExitConfigError = 2,  // Bad config, bad flag, bad --set.
  kExitDiverged = 65,    // A non-finite loss or gradient stopped training; do not requeue.
  kExitPreempted = 75,   // Checkpointed after SIGUSR1/SIGTERM; requeue (EX_TEMPFAIL).
};

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what, int exit_code = kExitFailure)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

class ConfigError : public UserError {
 public:
  explicit ConfigError(const std::string& what) : UserError(what, kExitConfigError) {}
};

}  // namespace hesp
