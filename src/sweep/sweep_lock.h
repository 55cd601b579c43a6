#pragma once
// An exclusive lock on a folder for one process: a file holding "pid host", created with
// O_EXCL. Another live holder is an error naming it; a holder on this host whose pid no
// longer runs is stale (the sweep was killed) and its lock is taken over. A lock held on
// another host cannot be checked from here and counts as live.
#include <filesystem>
#include <memory>
#include <string>

namespace hesp::sweep {

class FileLock {
 public:
  // Throws UserError ("<what> is in use by pid P on host H (lock file F)") when held.
  static std::unique_ptr<FileLock> acquire(const std::filesystem::path& file,
                                           const std::string& what);
  ~FileLock();  // Removes the file.
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::filesystem::path& file() const { return file_; }

 private:
  explicit FileLock(std::filesystem::path file) : file_(std::move(file)) {}
  std::filesystem::path file_;
};

// Who holds `file`: "" when it is absent or stale, else "pid P on host H".
std::string live_lock_holder(const std::filesystem::path& file);

std::string this_host();

}  // namespace hesp::sweep
