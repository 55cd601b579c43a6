#pragma once
// Filesystem helpers with crash-safe semantics: a file is either absent or complete.
#include <filesystem>
#include <string>
#include <string_view>

namespace hesp::fs {

namespace stdfs = std::filesystem;

// Whole-file read; throws UserError naming the path.
std::string read_file(const stdfs::path& path);

// Writes `data` to path.tmp.<pid>, fsyncs it, renames it over `path` and fsyncs the
// directory. Throws UserError (naming the path and errno text) on any failure, removing
// the temporary file.
void atomic_write_file(const stdfs::path& path, std::string_view data);

// fsync of a directory, so that a rename inside it is durable.
void fsync_directory(const stdfs::path& dir);

// Creates `dir` if needed and proves that it is writable by creating, syncing and
// removing a probe file (Caffe's writable-snapshot check). Throws UserError otherwise.
void ensure_writable_directory(const stdfs::path& dir);

}  // namespace hesp::fs
