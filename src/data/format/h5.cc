#include "data/format/h5.h"

#include <glog/logging.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>

#include "util/errors.h"

namespace hesp::data::h5 {
namespace {

[[noreturn]] void fail(const std::string& what) { throw UserError("HDF5: " + what); }

std::string file_name_of(hid_t obj) {
  ssize_t n = H5Fget_name(obj, nullptr, 0);
  if (n <= 0) return "<unknown file>";
  std::string s(static_cast<size_t>(n) + 1, '\0');
  H5Fget_name(obj, s.data(), s.size());
  s.resize(static_cast<size_t>(n));
  return s;
}

std::string where(hid_t obj, const std::string& name) { return file_name_of(obj) + ":" + name; }

Handle vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

Handle open_dataset(hid_t file, const std::string& name) {
  if (!has_dataset(file, name)) fail("missing dataset " + where(file, name));
  Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!d.valid()) fail("cannot open dataset " + where(file, name));
  return d;
}

// A 1-D dataset of n elements of `type`, written from `data` in one call.
void write_1d(hid_t file, const std::string& name, hid_t type, hsize_t n, const void* data) {
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle d(
      H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!d.valid()) fail("cannot create dataset " + where(file, name));
  if (n > 0 && H5Dwrite(d.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail("cannot write dataset " + where(file, name));
  }
}

hsize_t length_1d(hid_t file, const std::string& name, hid_t dset) {
  Handle space(H5Dget_space(dset));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) fail(where(file, name) + " is not 1-D");
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  return n;
}

template <typename T>
std::vector<T> read_1d(hid_t file, const std::string& name, hid_t mem_type) {
  Handle d = open_dataset(file, name);
  std::vector<T> v(length_1d(file, name, d.get()));
  if (!v.empty() && H5Dread(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
    fail("cannot read dataset " + where(file, name));
  }
  return v;
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool Handle::reset() {
  if (id_ < 0) return true;
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  herr_t rc = 0;
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      rc = H5Fclose(id);
      break;
    case H5I_GROUP:
      rc = H5Gclose(id);
      break;
    case H5I_DATASET:
      rc = H5Dclose(id);
      break;
    case H5I_DATASPACE:
      rc = H5Sclose(id);
      break;
    case H5I_DATATYPE:
      rc = H5Tclose(id);
      break;
    case H5I_ATTR:
      rc = H5Aclose(id);
      break;
    case H5I_GENPROP_LST:
      rc = H5Pclose(id);
      break;
    default:
      rc = H5Idec_ref(id) < 0 ? -1 : 0;
      break;
  }
  return rc >= 0;
}

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string diagnose_unopenable(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return path.string() + " is missing";
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return path.string() + " cannot be read: " + ec.message();
  std::ifstream in(path, std::ios::binary);
  std::string head(96, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  static const char kSignature[] = "\x89HDF\r\n\x1a\n";
  if (head.size() < 8 || head.compare(0, 8, kSignature, 8) != 0) {
    return path.string() + " is not an HDF5 file (no HDF5 signature at its start; " +
           std::to_string(size) + " bytes)";
  }
  // The superblock records the end-of-file address the writer left (format spec, "Superblock").
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  const int version = head.size() > 8 ? byte(8) : -1;
  size_t offsets_size = 0, eof_at = 0;
  if (version == 0 || version == 1) {
    offsets_size = head.size() > 13 ? byte(13) : 0;
    eof_at = 24 + (version == 1 ? 4 : 0) + 2 * offsets_size;
  } else if (version == 2 || version == 3) {
    offsets_size = head.size() > 9 ? byte(9) : 0;
    eof_at = 12 + 2 * offsets_size;
  }
  if (offsets_size == 8 && eof_at + 8 <= head.size()) {
    uint64_t eof = 0;
    for (size_t i = 0; i < 8; ++i) eof |= static_cast<uint64_t>(byte(eof_at + i)) << (8 * i);
    if (eof > size) {
      return path.string() + " is truncated: " + std::to_string(size) +
             " bytes on disk, its HDF5 superblock says " + std::to_string(eof) +
             " (an interrupted copy?)";
    }
  }
  return path.string() + " cannot be opened by HDF5 (corrupt or not written by hesp-pack)";
}

LockFailure lock_failure_on_stack() {
  LockFailure out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* lf = static_cast<LockFailure*>(data);
        const char* desc = e->desc ? e->desc : "";
        if (e->min_num != H5E_CANTLOCKFILE && !std::strstr(desc, "unable to lock")) return 0;
        lf->failed = true;
        // The file driver's entry carries the flock() errno: "..., errno = 11, ...".
        if (const char* p = std::strstr(desc, "errno = "); p && lf->err == 0) {
          lf->err = std::atoi(p + 8);
        }
        return 0;
      },
      &out);
  return out;
}

namespace {

bool locking_unsupported(int err) {
  return err == ENOLCK || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL;
}

// What a lock failure means for the user, and what to do about it.
std::string lock_message(const std::filesystem::path& path, const LockFailure& lf,
                         const char* action) {
  const std::string err =
      lf.err ? " (errno " + std::to_string(lf.err) + ", " + std::strerror(lf.err) + ")" : "";
  if (lf.err == EWOULDBLOCK || lf.err == EAGAIN || lf.err == EACCES) {
    return "cannot " + std::string(action) + " " + path.string() +
           ": the file is locked by another process" + err +
           " that has it open for writing (h5py mode 'r+'/'a', HDFView, another hesp-pack "
           "convert?). The file itself is fine: close that program and run again, or, when "
           "nothing writes it, set HDF5_USE_FILE_LOCKING=FALSE (docs/datasets.md, \"File "
           "locking\")";
  }
  return "cannot " + std::string(action) + " " + path.string() + ": HDF5's file locking failed" +
         err +
         "; the file system may not support flock() (NFS, Lustre): set "
         "HDF5_USE_FILE_LOCKING=FALSE (docs/datasets.md, \"File locking\")";
}

// A file access property list without file locking (HDF5 >= 1.10.7), or none.
Handle no_locking_fapl() {
#if H5_VERSION_GE(1, 10, 7)
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (fapl.valid() && H5Pset_file_locking(fapl.get(), false, true) >= 0) return fapl;
#endif
  return Handle();
}

// Set once this process found file locking unsupported: every later open goes without it
// (HDF5 also refuses to open a file again with other locking flags than the open handle).
std::atomic<bool> g_without_locking{false};

bool flags_mismatch_on_stack() {
  bool found = false;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        if (e->desc && std::strstr(e->desc, "file locking flag")) *static_cast<bool*>(data) = true;
        return 0;
      },
      &found);
  return found;
}

// Opens or creates `path`; on a locking failure because the file system has no flock(),
// tries once more without locking and keeps doing so in this process (logged once); any
// other locking failure (another process holds the file) throws lock_message.
template <typename OpenFn>
Handle open_handling_locks(const std::filesystem::path& path, const char* action, OpenFn open) {
  Handle nolock = g_without_locking.load() ? no_locking_fapl() : Handle();
  Handle f(open(nolock.valid() ? nolock.get() : H5P_DEFAULT));
  if (f.valid()) return f;
  const LockFailure lf = lock_failure_on_stack();
  if (!lf.failed) {
    // The file is open in this process already, with the other locking flags.
    if (flags_mismatch_on_stack()) {
      Handle other = nolock.valid() ? Handle() : no_locking_fapl();
      return Handle(open(other.valid() ? other.get() : H5P_DEFAULT));
    }
    return f;
  }
  if (locking_unsupported(lf.err)) {
    Handle fapl = no_locking_fapl();
    if (fapl.valid()) {
      Handle g(open(fapl.get()));
      if (g.valid()) {
        if (!g_without_locking.exchange(true)) {
          LOG(WARNING) << "HDF5 file locking is not available where " << path.string()
                       << " lives (errno " << lf.err << ", " << std::strerror(lf.err)
                       << "): reading and writing without it. Set HDF5_USE_FILE_LOCKING=FALSE "
                          "to silence this.";
        }
        return g;
      }
    }
  }
  fail(lock_message(path, lf, action));
}

}  // namespace

Handle open_file_read(const std::filesystem::path& path) {
  silence_library_errors();
  // Read-only opens take a shared lock (several readers at once); only a writer's
  // exclusive lock stops them.
  Handle f = open_handling_locks(
      path, "open", [&](hid_t fapl) { return H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl); });
  if (!f.valid()) fail(diagnose_unopenable(path));
  return f;
}

Handle create_file(const std::filesystem::path& path) {
  silence_library_errors();
  Handle f = open_handling_locks(path, "create", [&](hid_t fapl) {
    return H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  });
  if (!f.valid()) fail("cannot create " + path.string());
  return f;
}

void write_attr_int(hid_t obj, const std::string& name, int64_t value) {
  Handle space(H5Screate(H5S_SCALAR));
  Handle a(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid() || H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) {
    fail("cannot write attribute " + where(obj, name));
  }
}

void write_attr_string(hid_t obj, const std::string& name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle a(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* p = value.c_str();
  if (!a.valid() || H5Awrite(a.get(), type.get(), &p) < 0) {
    fail("cannot write attribute " + where(obj, name));
  }
}

int64_t read_attr_int(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) fail("missing attribute " + where(obj, name));
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  int64_t v = 0;
  if (!a.valid() || H5Aread(a.get(), H5T_NATIVE_INT64, &v) < 0) {
    fail("cannot read attribute " + where(obj, name));
  }
  return v;
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) fail("missing attribute " + where(obj, name));
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle type = vlen_string_type();
  char* p = nullptr;
  if (!a.valid() || H5Aread(a.get(), type.get(), &p) < 0) {
    fail("cannot read attribute " + where(obj, name));
  }
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

bool has_dataset(hid_t file, const std::string& name) {
  return H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<hsize_t> dataset_shape(hid_t file, const std::string& name) {
  Handle d = open_dataset(file, name);
  Handle space(H5Dget_space(d.get()));
  const int nd = H5Sget_simple_extent_ndims(space.get());
  if (nd < 0) fail("cannot read the shape of " + where(file, name));
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

void write_strings(hid_t file, const std::string& name, const std::vector<std::string>& v) {
  std::vector<const char*> ptrs;
  ptrs.reserve(v.size());
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Handle type = vlen_string_type();
  write_1d(file, name, type.get(), v.size(), ptrs.data());
}

std::vector<std::string> read_strings(hid_t file, const std::string& name) {
  Handle d = open_dataset(file, name);
  const hsize_t n = length_1d(file, name, d.get());
  std::vector<char*> ptrs(n, nullptr);
  Handle type = vlen_string_type();
  if (n > 0 && H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
    fail("cannot read dataset " + where(file, name));
  }
  std::vector<std::string> out;
  out.reserve(n);
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

void write_int32s(hid_t file, const std::string& name, const std::vector<int32_t>& v) {
  write_1d(file, name, H5T_NATIVE_INT32, v.size(), v.data());
}

std::vector<int32_t> read_int32s(hid_t file, const std::string& name) {
  return read_1d<int32_t>(file, name, H5T_NATIVE_INT32);
}

void write_uint64s(hid_t file, const std::string& name, const std::vector<uint64_t>& v) {
  write_1d(file, name, H5T_NATIVE_UINT64, v.size(), v.data());
}

std::vector<uint64_t> read_uint64s(hid_t file, const std::string& name) {
  return read_1d<uint64_t>(file, name, H5T_NATIVE_UINT64);
}

void read_uint8_range(hid_t file, const std::string& name, uint64_t offset, uint64_t count,
                      uint8_t* out) {
  Handle d = open_dataset(file, name);
  const hsize_t n = length_1d(file, name, d.get());
  if (offset + count > n) fail("range past the end of " + where(file, name));
  if (count == 0) return;
  Handle space(H5Dget_space(d.get()));
  hsize_t start = offset, cnt = count;
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &cnt, nullptr);
  Handle mem(H5Screate_simple(1, &cnt, nullptr));
  if (H5Dread(d.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, out) < 0) {
    fail("cannot read " + where(file, name) + " (corrupt chunk?)");
  }
}

void read_uint8_row(hid_t file, const std::string& name, uint64_t index, uint8_t* out) {
  read_uint8_rows(file, name, index, 1, out);
}

void read_uint8_rows(hid_t file, const std::string& name, uint64_t first, uint64_t rows,
                     uint8_t* out) {
  Handle d = open_dataset(file, name);
  Handle space(H5Dget_space(d.get()));
  const int nd = H5Sget_simple_extent_ndims(space.get());
  if (nd < 1) fail(where(file, name) + " has no rows");
  std::vector<hsize_t> dims(static_cast<size_t>(nd));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (first + rows > dims[0]) fail("row past the end of " + where(file, name));
  if (rows == 0) return;
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = first;
  count[0] = rows;
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mem(H5Screate_simple(nd, count.data(), nullptr));
  if (H5Dread(d.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, out) < 0) {
    fail("cannot read " + where(file, name) + " (corrupt chunk?)");
  }
}

}  // namespace hesp::data::h5
