#pragma once
// One writer per folder: an exclusive lock on a file in it (a run directory's `run.lock`,
// a sweep's `sweep.lock`), held by one process for as long as it writes there.
//
// Mechanism (docs/training.md, "One run directory, one writer"):
//  - The holder keeps an open file descriptor with flock(LOCK_EX) on the lock file. The
//    kernel (or, on NFSv4 / Lustre, the file server) drops it when the process ends, however
//    it ends (exit, crash, kill -9): a dead holder never blocks anyone.
//  - The file holds a record of the holder, one line of key=value fields:
//      pid=P host=H start=<UTC time> renewed=<seconds since 1970>
//    A second process that cannot take the flock refuses at once and names the holder
//    (host, pid, start time) from the record. The holder rewrites `renewed` every
//    kRenewSeconds from a thread of its own.
//  - A taken flock is not trusted alone where locks are not shared between hosts (NFS
//    mounted with `nolock`, where each client only sees its own locks): a record of another
//    host renewed less than kLeaseSeconds ago counts as live even though the flock was
//    free, and is named in the refusal. A record of another host older than the lease (its
//    process or its node is gone) is taken over with a warning, as is any record of this
//    host (this host's flock is exact: the process that wrote it is gone).
//  - A file system without flock at all (flock fails with ENOLCK / EOPNOTSUPP: NFS without
//    a lock manager) is refused with a message naming the file; put run directories on a
//    file system with locks (local disk, NFSv4, Lustre mounted with -o flock).
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

// How often the holder renews its record, and after how long without renewal a record of
// another host is stale.
inline constexpr int kRenewSeconds = 30;
inline constexpr int kLeaseSeconds = 300;

// The holder's record in a lock file.
struct LockRecord {
  long pid = 0;
  std::string host;
  std::string start;    // UTC, "2026-12-04 21:00:00 UTC".
  int64_t renewed = 0;  // Seconds since 1970 (the holder's clock).
  // "pid P on host H since START".
  std::string describe() const;
};

// Parses a record ("pid=.. host=.. start=.. renewed=.."); nullopt for anything else (an
// empty file, a half-written one).
std::optional<LockRecord> parse_lock_record(const std::string& text);

class FileLock {
 public:
  // Takes the lock on `file` (created, with its folder, if absent) for this process.
  // Throws UserError with exit code kExitLocked, "<what> is in use by pid P on host H since
  // T (lock file F) ...", when another process holds it; UserError (kExitFailure) when the
  // file cannot be created or its file system has no flock.
  static std::unique_ptr<FileLock> acquire(const std::filesystem::path& file,
                                           const std::string& what);
  ~FileLock();  // Stops renewing, removes the file, releases the lock.
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& file() const { return file_; }

 private:
  FileLock(std::filesystem::path file, int fd, LockRecord record);
  void renew_loop();

  std::filesystem::path file_;
  int fd_ = -1;
  LockRecord record_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread renewer_;
};

// Who holds `file`: "" when it is absent, free or stale, else its holder's description
// ("pid P on host H since T"). Never blocks; holds a shared flock for an instant at most
// (acquire retries for a moment, so such a look never makes it refuse).
std::string live_lock_holder(const std::filesystem::path& file);

// This machine's host name.
std::string this_host();

}  // namespace hesp::util
