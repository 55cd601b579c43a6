#include "util/dir_lock.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/errors.h"
#include "util/resources.h"

namespace hesp::util {
namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_record(const LockRecord& r) {
  return "pid=" + std::to_string(r.pid) + " host=" + r.host + " start=" + r.start +
         " renewed=" + std::to_string(r.renewed) + " seq=" + std::to_string(r.seq) + "\n";
}

std::string read_fd(int fd) {
  std::string text;
  char buf[512];
  off_t off = 0;
  for (;;) {
    const ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    off += n;
    if (text.size() > 4096) break;
  }
  return text;
}

void write_record(int fd, const LockRecord& r) {
  const std::string text = format_record(r);
  // Same length or longer each time (renewed only grows): no stale tail to truncate.
  if (pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ftruncate(fd, static_cast<off_t>(text.size())) != 0) {
    LOG(WARNING) << "cannot write the lock record: " << std::strerror(errno);
  }
}

// Whether a record, found in a file whose flock this process could take, may still name a
// live holder: a record of another host renewed within the lease (locks that are not
// shared between hosts, e.g. NFS mounted with nolock). This host's flock is exact.
bool other_host_within_lease(const LockRecord& r, const LockTiming& timing) {
  if (r.host == this_host()) return false;
  return (now_seconds() - r.renewed) * 1000 < timing.lease.count();
}

// Watches the record in `fd` for `timing.watch`: whether its holder renews it (alive).
bool renewed_while_watched(int fd, const LockRecord& first, const LockTiming& timing) {
  const auto until = std::chrono::steady_clock::now() + timing.watch;
  const auto step = std::max(std::chrono::milliseconds(20), timing.watch / 100);
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(step);
    const auto now = parse_lock_record(read_fd(fd));
    if (now && (now->seq != first.seq || now->renewed != first.renewed || now->pid != first.pid))
      return true;
  }
  return false;
}

bool no_flock_support(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS; }

// Whether process `pid` of this host runs (a zombie does not).
bool process_alive(long pid) {
  if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0) return pid > 0 && errno == EPERM;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || line.compare(paren, 3, ") Z") != 0;
}

// Without flock: whether the record (of the lock file in `fd`) names a live holder. This
// host: its pid runs. Another host: renewed within the lease and again while watched.
bool holder_alive_without_flock(int fd, const LockRecord& r, const LockTiming& timing) {
  if (r.host == this_host()) return process_alive(r.pid);
  if ((now_seconds() - r.renewed) * 1000 >= timing.lease.count()) return false;
  return renewed_while_watched(fd, r, timing);
}

std::string holder_text(const std::optional<LockRecord>& r) {
  return r ? r->describe() : std::string("a process whose record is not readable yet");
}

}  // namespace

std::string this_host() { return resources::host_name(); }

std::string LockRecord::describe() const {
  return "pid " + std::to_string(pid) + " on host " + host + " since " + start;
}

std::optional<LockRecord> parse_lock_record(const std::string& text) {
  std::istringstream in(text);
  std::string field;
  LockRecord r;
  bool pid = false, host = false, renewed = false;
  while (in >> field) {
    const auto eq = field.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    try {
      if (key == "pid") {
        r.pid = std::stol(value);
        pid = r.pid > 0;
      } else if (key == "host") {
        r.host = value;
        host = !value.empty();
      } else if (key == "start") {
        r.start = value;
      } else if (key == "renewed") {
        r.renewed = std::stoll(value);
        renewed = true;
      } else if (key == "seq") {
        r.seq = std::stoll(value);
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!pid || !host || !renewed) return std::nullopt;
  return r;
}

// A file system without flock (NFS without a lock manager): the lock file is created
// exclusively with link(2) of a private file (atomic on NFS, as O_EXCL is not on every
// version), and one left by a holder that is gone (see holder_alive_without_flock) is
// removed and created again.
std::unique_ptr<FileLock> FileLock::acquire_without_flock(const std::filesystem::path& file,
                                                          const std::string& what,
                                                          const LockTiming& timing) {
  LOG_FIRST_N(WARNING, 1) << "the file system of " << file.string() << " has no flock: " << what
                          << " is locked by an exclusively created file and a renewed record";
  LockRecord record;
  record.pid = getpid();
  record.host = this_host();
  record.start = utc_now();
  const std::string tmp = file.string() + "." + record.host + "." + std::to_string(record.pid);
  for (int attempt = 0; attempt < 20; ++attempt) {
    record.renewed = now_seconds();
    const int tfd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) {
      throw UserError("cannot create the lock file " + tmp + " of " + what + ": " +
                      std::strerror(errno));
    }
    write_record(tfd, record);
    fsync(tfd);
    const bool linked = link(tmp.c_str(), file.c_str()) == 0;
    const int link_err = errno;
    unlink(tmp.c_str());
    if (linked) return std::unique_ptr<FileLock>(new FileLock(file, tfd, record, timing));
    close(tfd);
    if (link_err != EEXIST) {
      throw UserError("cannot create the lock file " + file.string() + " of " + what + ": " +
                      std::strerror(link_err));
    }
    // Taken: by a live holder, or left by one that is gone.
    const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // Released in between.
    const auto previous = parse_lock_record(read_fd(fd));
    const bool alive = previous ? holder_alive_without_flock(fd, *previous, timing) : attempt < 10;
    close(fd);
    if (alive) {
      if (!previous) {  // A record being written: look again.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      throw UserError(what + " is in use by " + previous->describe() + " (lock file " +
                          file.string() +
                          "); one process writes there at a time: wait for it to end or stop it",
                      kExitLocked);
    }
    LOG(WARNING) << "taking over the lock " << file.string() << " of " << what << " left by "
                 << holder_text(previous) << " (that process or its host is gone)";
    unlink(file.c_str());
  }
  throw UserError(what + ": the lock " + file.string() +
                  " changed hands too often while taking it; try again");
}

std::unique_ptr<FileLock> FileLock::acquire(const std::filesystem::path& file,
                                            const std::string& what, const LockTiming& timing) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw UserError("cannot create the lock file " + file.string() + " of " + what + ": " +
                      std::strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string text = read_fd(fd);
      close(fd);
      if (no_flock_support(err)) return acquire_without_flock(file, what, timing);
      if (err == EWOULDBLOCK || err == EINTR) {
        if (attempt < 5) {  // A look by live_lock_holder, or a release in progress.
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        throw UserError(what + " is in use by " + holder_text(parse_lock_record(text)) +
                            " (lock file " + file.string() +
                            "); one process writes there at a time: wait for it to end or stop "
                            "it (its lock goes with it)",
                        kExitLocked);
      }
      throw UserError("cannot lock " + file.string() + ": " + std::strerror(err));
    }
    // Locked: is it still the file at the path (not one a releasing holder just removed)?
    struct stat mine = {};
    struct stat at_path = {};
    if (fstat(fd, &mine) != 0 || stat(file.c_str(), &at_path) != 0 ||
        mine.st_ino != at_path.st_ino || mine.st_dev != at_path.st_dev) {
      close(fd);
      continue;
    }
    const auto previous = parse_lock_record(read_fd(fd));
    if (previous && other_host_within_lease(*previous, timing)) {
      LOG(WARNING) << "the lock " << file.string() << " of " << what << " names "
                   << previous->describe() << ", renewed " << now_seconds() - previous->renewed
                   << " s ago; its flock is free (locks not shared between hosts?): watching "
                   << "it for " << timing.watch.count() / 1000 << " s for a renewal";
      if (renewed_while_watched(fd, *previous, timing)) {
        const auto now = parse_lock_record(read_fd(fd));
        close(fd);
        throw UserError(what + " is in use by " + (now ? *now : *previous).describe() +
                            " (lock file " + file.string() +
                            "): that process renews its lock although this one could take the "
                            "flock, so this file system does not share locks between hosts; "
                            "one process writes there at a time: wait for it to end or stop it",
                        kExitLocked);
      }
      LOG(WARNING) << "taking over the lock " << file.string() << " of " << what << " left by "
                   << previous->describe() << " (not renewed: that process "
                   << "or its host is gone)";
    } else if (previous) {
      LOG(WARNING) << "taking over the lock " << file.string() << " of " << what << " left by "
                   << previous->describe() << " (that process is gone)";
    }
    LockRecord record;
    record.pid = getpid();
    record.host = this_host();
    record.start = utc_now();
    record.renewed = now_seconds();
    write_record(fd, record);
    fsync(fd);
    return std::unique_ptr<FileLock>(new FileLock(file, fd, record, timing));
  }
  throw UserError(what + ": the lock " + file.string() +
                  " changed hands too often while taking it; try again");
}

FileLock::FileLock(std::filesystem::path file, int fd, LockRecord record, const LockTiming& timing)
    : file_(std::move(file)), fd_(fd), record_(std::move(record)), timing_(timing) {
  renewer_ = std::thread([this] { renew_loop(); });
}

void FileLock::renew_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, timing_.renew, [this] { return stop_; })) {
    record_.renewed = now_seconds();
    ++record_.seq;
    write_record(fd_, record_);
  }
}

FileLock::~FileLock() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  // Unlink while holding the flock, then release (see the header).
  unlink(file_.c_str());
  close(fd_);
}

std::string live_lock_holder(const std::filesystem::path& file, const LockTiming& timing) {
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  const auto record = parse_lock_record(read_fd(fd));
  std::string holder;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      holder = holder_text(record);
    } else if (no_flock_support(errno) && record) {
      // No flock on this file system: the record alone tells (unwatched).
      const bool alive = record->host == this_host()
                             ? process_alive(record->pid)
                             : (now_seconds() - record->renewed) * 1000 < timing.lease.count();
      if (alive) holder = record->describe();
    }
  } else if (record && other_host_within_lease(*record, timing)) {
    holder = record->describe();
  }
  close(fd);  // Drops the shared lock, if taken.
  return holder;
}

}  // namespace hesp::util
