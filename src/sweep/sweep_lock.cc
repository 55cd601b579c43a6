#include "sweep/sweep_lock.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/errors.h"

namespace hesp::sweep {

std::string this_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

namespace {

// Whether `pid` runs. A killed rank that nobody has reaped yet (its parent, mpirun, exited
// first and the reaper is slow) still answers kill(pid, 0): its /proc state says zombie.
bool process_runs(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // No procfs: trust kill().
  const auto close = line.rfind(')');          // "pid (comm) S ...": comm may hold spaces.
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace

std::string live_lock_holder(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return "";
  long pid = 0;
  std::string host;
  in >> pid >> host;
  if (pid <= 0) return "";  // Half-written or foreign content: nobody we can name holds it.
  const std::string who = "pid " + std::to_string(pid) + " on host " + host;
  if (host != this_host()) return who;  // Cannot check a pid on another machine.
  return process_runs(static_cast<pid_t>(pid)) ? who : "";
}

std::unique_ptr<FileLock> FileLock::acquire(const std::filesystem::path& file,
                                            const std::string& what) {
  std::filesystem::create_directories(file.parent_path());
  const std::string content = std::to_string(getpid()) + " " + this_host() + "\n";
  // Two tries: the second after removing a stale lock.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      const bool ok =
          write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
      close(fd);
      if (!ok) throw UserError("cannot write lock file " + file.string());
      return std::unique_ptr<FileLock>(new FileLock(file));
    }
    if (errno != EEXIST) {
      throw UserError("cannot create lock file " + file.string() + ": " + std::strerror(errno));
    }
    const std::string holder = live_lock_holder(file);
    if (!holder.empty()) {
      throw UserError(what + " is in use by another sweep (" + holder + ", lock file " +
                      file.string() + "); wait for it, or remove the file if that process is gone");
    }
    LOG(WARNING) << "taking over the stale lock " << file << " (its process is gone)";
    std::error_code ec;
    std::filesystem::remove(file, ec);
  }
  throw UserError(what + ": another process took the lock " + file.string() + " at the same time");
}

FileLock::~FileLock() {
  std::error_code ec;
  std::filesystem::remove(file_, ec);
}

}  // namespace hesp::sweep
