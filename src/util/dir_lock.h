#pragma once
// One writer per folder: an exclusive lock on a file in it (a run directory's `run.lock`,
// a sweep's `sweep.lock`), held by one process for as long as it writes there.
//
// Mechanism (docs/training.md, "One run directory, one writer"):
//  - The holder keeps an open file descriptor with flock(LOCK_EX) on the lock file. The
//    kernel (or, on NFSv4 / Lustre, the file server) drops it when the process ends, however
//    it ends (exit, crash, kill -9): a dead holder never blocks anyone.
//  - The file holds a record of the holder, one line of key=value fields:
//      pid=P host=H start=<UTC time> renewed=<seconds since 1970> seq=<renewals>
//    A second process that cannot take the flock refuses at once and names the holder
//    (host, pid, start time) from the record. The holder rewrites `renewed` and `seq`
//    every LockTiming::renew (30 s) from a thread of its own.
//  - A taken flock is not trusted alone where locks are not shared between hosts (NFS
//    mounted with `nolock`, where each client only sees its own locks). When the flock was
//    free but the record names another host:
//      renewed longer ago than LockTiming::lease (300 s): its process or node is gone;
//        taken over at once, with a warning;
//      otherwise the record is watched for LockTiming::watch (45 s, longer than one
//        renewal): renewed in that time, its holder is alive and the lock is refused,
//        naming it; not renewed, the holder is gone and the lock is taken over.
//    A record of this host is taken over at once (this host's flock is exact: the process
//    that wrote it is gone).
//  - A file system without flock at all (flock fails with ENOLCK / EOPNOTSUPP: NFS without
//    a lock manager) is handled without it: the lock file is created exclusively (link(2)
//    of a private file, atomic on NFS) with the record, which the holder renews as above.
//    A lock file that exists names a live holder when its record is of this host and that
//    pid runs, or of another host and renewed within the lease and again while watched;
//    otherwise it is removed (with a warning) and created anew. Two processes taking over
//    the same stale file in the same instant is the one race left; a file system with locks
//    (local disk, NFSv4, Lustre mounted with -o flock) has none.
//  - Releasing unlinks the file while still holding the flock, then closes it; a process
//    that locked the old file in between sees that its file is no longer the one at the
//    path and tries again.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace hesp::util {

// The exit code of a process refused because another live process holds the folder
// (EX_CANTCREAT; docs/training.md, "Exit codes": do not requeue, the holder is running).
inline constexpr int kExitLocked = 73;

// The clocks of the lock (the defaults are what hesp uses; tests shorten them).
struct LockTiming {
  std::chrono::milliseconds renew{30'000};   // The holder renews its record this often.
  std::chrono::milliseconds lease{300'000};  // Another host's record older than this is stale.
  std::chrono::milliseconds watch{45'000};   // A younger one is watched this long for a renewal.
};

// The holder's record in a lock file.
struct LockRecord {
  long pid = 0;
  std::string host;
  std::string start;    // UTC, "2026-12-04T21:00:00Z".
  int64_t renewed = 0;  // Seconds since 1970 (the holder's clock).
  int64_t seq = 0;      // Renewals so far.
  // "pid P on host H since START".
  std::string describe() const;
};

// Parses a record ("pid=.. host=.. start=.. renewed=.. [seq=..]"); nullopt for anything else (an
// empty file, a half-written one).
std::optional<LockRecord> parse_lock_record(const std::string& text);

class FileLock {
 public:
  // Takes the lock on `file` (created, with its folder, if absent) for this process.
  // Throws UserError with exit code kExitLocked, "<what> is in use by pid P on host H since
  // T (lock file F) ...", when another process holds it; UserError (kExitFailure) when the
  // file cannot be created.
  static std::unique_ptr<FileLock> acquire(const std::filesystem::path& file,
                                           const std::string& what, const LockTiming& timing = {});
  ~FileLock();  // Stops renewing, removes the file, releases the lock.
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& file() const { return file_; }

 private:
  FileLock(std::filesystem::path file, int fd, LockRecord record, const LockTiming& timing);
  static std::unique_ptr<FileLock> acquire_without_flock(const std::filesystem::path& file,
                                                         const std::string& what,
                                                         const LockTiming& timing);
  void renew_loop();

  std::filesystem::path file_;
  int fd_ = -1;
  LockRecord record_;
  LockTiming timing_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread renewer_;
};

// Who holds `file`: "" when it is absent, free or stale, else its holder's description
// ("pid P on host H since T"; another host's record within the lease counts, unwatched). Never
// blocks; holds a shared flock for an instant at most (acquire retries for a moment, so such a look
// never makes it refuse).
std::string live_lock_holder(const std::filesystem::path& file, const LockTiming& timing = {});

// This machine's host name.
std::string this_host();

}  // namespace hesp::util
