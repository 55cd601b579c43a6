#include "util/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/errors.h"

namespace hesp::fs {
namespace {

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, std::string_view data, const stdfs::path& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw UserError("cannot write " + path.string() + ": " + errno_text());
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open " + path.string() + ": " + errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw UserError("cannot read " + path.string());
  return ss.str();
}

void fsync_directory(const stdfs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) throw UserError("cannot open directory " + dir.string() + ": " + errno_text());
  ::fsync(fd);
  ::close(fd);
}

void atomic_write_file(const stdfs::path& path, std::string_view data) {
  const stdfs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw UserError("cannot create " + tmp.string() + ": " + errno_text());
  // Errors name the file being written (its temporary name is an implementation detail);
  // the temporary is removed, so a failed write leaves the old file (or none) in place.
  try {
    write_all(fd, data, path);
    if (::fsync(fd) != 0) throw UserError("cannot write " + path.string() + ": " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw UserError("cannot write " + path.string() + ": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw UserError("cannot rename " + tmp.string() + " to " + path.string() + ": " + why);
  }
  fsync_directory(path.parent_path());
}

void ensure_writable_directory(const stdfs::path& dir) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) throw UserError("cannot create directory " + dir.string() + ": " + ec.message());
  const stdfs::path probe = dir / (".write_probe." + std::to_string(::getpid()));
  try {
    atomic_write_file(probe, "ok");
  } catch (const UserError& e) {
    throw UserError("directory " + dir.string() + " is not writable (" + e.what() + ")");
  }
  stdfs::remove(probe, ec);
}

}  // namespace hesp::fs
