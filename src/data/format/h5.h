#pragma once
// RAII over the HDF5 C API, plus the few typed reads and writes the shard format needs.
// Every failure throws hesp::UserError naming the file and the object; HDF5's own error
// stack printing is switched off so users see one clear message.
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hesp::data::h5 {

// Owns one HDF5 identifier (file, group, dataset, dataspace, datatype, property list or
// attribute) and closes it with H5Idec_ref-equivalent semantics on destruction.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; returns false when HDF5 reports a failure (e.g. a flush on a full disk).
  bool reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns off HDF5's automatic error-stack printing for this process (idempotent).
void silence_library_errors();

// Opens an existing file read-only. Honours HDF5_USE_FILE_LOCKING through the library.
// The open takes HDF5's shared lock, so any number of readers (training ranks of several
// jobs, predict, verify) read one file at once. When another process holds the file's
// exclusive (writer's) lock, throws a message that says so and names the file (never
// "corrupt"); when the file system has no flock() (ENOLCK/ENOSYS, e.g. NFS), opens without
// locking (HDF5 >= 1.10.7, H5Pset_file_locking) and logs that once. A file HDF5 cannot
// open for another reason throws with diagnose_unopenable's message.
Handle open_file_read(const std::filesystem::path& path);
// Why a file does not open: missing, not HDF5, or truncated (bytes on disk against the
// end-of-file address its superblock records), else "corrupt".
std::string diagnose_unopenable(const std::filesystem::path& path);
// Creates (truncates) a file for writing; locking failures as in open_file_read.
Handle create_file(const std::filesystem::path& path);

// Whether the last failed HDF5 call of this thread failed to take a file lock, and the
// flock() errno HDF5 reported (0 when not given). Read right after the failing call.
struct LockFailure {
  bool failed = false;
  int err = 0;
};
LockFailure lock_failure_on_stack();

// Attributes on the root group (or any object).
void write_attr_int(hid_t obj, const std::string& name, int64_t value);
void write_attr_string(hid_t obj, const std::string& name, const std::string& value);
int64_t read_attr_int(hid_t obj, const std::string& name);
std::string read_attr_string(hid_t obj, const std::string& name);

bool has_dataset(hid_t file, const std::string& name);
// Extent of a dataset, one entry per dimension.
std::vector<hsize_t> dataset_shape(hid_t file, const std::string& name);

// Whole 1-D datasets.
void write_strings(hid_t file, const std::string& name, const std::vector<std::string>& v);
std::vector<std::string> read_strings(hid_t file, const std::string& name);
void write_int32s(hid_t file, const std::string& name, const std::vector<int32_t>& v);
std::vector<int32_t> read_int32s(hid_t file, const std::string& name);
void write_uint64s(hid_t file, const std::string& name, const std::vector<uint64_t>& v);
std::vector<uint64_t> read_uint64s(hid_t file, const std::string& name);

// Reads `count` bytes starting at `offset` of a 1-D uint8 dataset into `out`.
void read_uint8_range(hid_t file, const std::string& name, uint64_t offset, uint64_t count,
                      uint8_t* out);
// Reads the `index`-th block along dim 0 of an N-D uint8 dataset (e.g. one clip of
// frames [N, T, S, S, 3]) into `out`, which must hold the product of the other dims.
void read_uint8_row(hid_t file, const std::string& name, uint64_t index, uint8_t* out);
// Rows [first, first + rows) along dim 0 in one hyperslab read.
void read_uint8_rows(hid_t file, const std::string& name, uint64_t first, uint64_t rows,
                     uint8_t* out);

}  // namespace hesp::data::h5
