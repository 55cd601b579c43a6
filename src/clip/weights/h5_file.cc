#include "clip/weights/h5_file.h"

#include <hdf5.h>

#include <cstring>

#include "util/errors.h"

namespace hesp::clip {
namespace {

// Closes an HDF5 handle on scope exit.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

}  // namespace

H5File H5File::open_read(const std::string& path) {
  quiet_hdf5();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw UserError("cannot open HDF5 file " + path);
  return H5File(id, path);
}

H5File H5File::create(const std::string& path) {
  quiet_hdf5();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw UserError("cannot create HDF5 file " + path);
  return H5File(id, path);
}

H5File::H5File(H5File&& other) noexcept : id_(other.id_), path_(std::move(other.path_)) {
  other.id_ = -1;
}

H5File::~H5File() {
  if (id_ >= 0) H5Fclose(id_);
}

bool H5File::has(const std::string& name) const {
  return H5Lexists(id_, name.c_str(), H5P_DEFAULT) > 0;
}

torch::Tensor H5File::read(const std::string& name, torch::ScalarType dtype) const {
  const bool floating = dtype != torch::kLong;
  const std::string ctx = path_ + ": dataset '" + name + "'";
  if (!has(name)) throw UserError(ctx + " is missing");
  Handle ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  if (ds.id < 0) throw UserError(ctx + " cannot be opened");
  Handle type{H5Dget_type(ds.id), H5Tclose};
  const H5T_class_t cls = H5Tget_class(type.id);
  if (floating && cls != H5T_FLOAT && cls != H5T_INTEGER) {
    throw UserError(ctx + " is not numeric");
  }
  if (!floating && cls != H5T_INTEGER) throw UserError(ctx + " is not an integer dataset");
  Handle space{H5Dget_space(ds.id), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > 8) throw UserError(ctx + " has an unsupported rank");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
  std::vector<int64_t> shape(dims.begin(), dims.end());
  auto t = torch::empty(shape, dtype);
  const hid_t memory_type = dtype == torch::kDouble  ? H5T_NATIVE_DOUBLE
                            : dtype == torch::kFloat ? H5T_NATIVE_FLOAT
                                                     : H5T_NATIVE_INT64;
  if (t.numel() > 0 &&
      H5Dread(ds.id, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0) {
    throw UserError(ctx + " cannot be read");
  }
  return t;
}

torch::Tensor H5File::read_float(const std::string& name) const {
  return read(name, torch::kFloat);
}
torch::Tensor H5File::read_double(const std::string& name) const {
  return read(name, torch::kDouble);
}
torch::Tensor H5File::read_int64(const std::string& name) const { return read(name, torch::kLong); }

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  const std::string ctx = path_ + ": dataset '" + name + "'";
  if (!has(name)) throw UserError(ctx + " is missing");
  Handle ds{H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose};
  if (ds.id < 0) throw UserError(ctx + " cannot be opened");
  Handle type{H5Dget_type(ds.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING) throw UserError(ctx + " is not a string dataset");
  Handle space{H5Dget_space(ds.id), H5Sclose};
  if (H5Sget_simple_extent_ndims(space.id) != 1) throw UserError(ctx + " is not 1-D");
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.id, &n, nullptr);
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.id) > 0) {
    Handle memory{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(memory.id, H5T_VARIABLE);
    H5Tset_cset(memory.id, H5T_CSET_UTF8);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0 && H5Dread(ds.id, memory.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      throw UserError(ctx + " cannot be read");
    }
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) H5Dvlen_reclaim(memory.id, space.id, H5P_DEFAULT, ptrs.data());
  } else {
    const size_t width = H5Tget_size(type.id);
    std::vector<char> bytes(n * width + 1, '\0');
    if (n > 0 && H5Dread(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0) {
      throw UserError(ctx + " cannot be read");
    }
    for (hsize_t i = 0; i < n; ++i) {
      const char* p = bytes.data() + i * width;
      out.emplace_back(p, strnlen(p, width));
    }
  }
  return out;
}

void H5File::write(const std::string& name, const torch::Tensor& t) {
  const std::string ctx = path_ + ": dataset '" + name + "'";
  const bool floating = t.is_floating_point();
  const bool as_double = t.scalar_type() == torch::kDouble;
  auto c = t.detach()
               .cpu()
               .to(as_double  ? torch::kDouble
                   : floating ? torch::kFloat
                              : torch::kLong)
               .contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  Handle space{dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose};
  const hid_t file_type = as_double ? H5T_IEEE_F64LE : floating ? H5T_IEEE_F32LE : H5T_STD_I64LE;
  const hid_t memory_type = as_double  ? H5T_NATIVE_DOUBLE
                            : floating ? H5T_NATIVE_FLOAT
                                       : H5T_NATIVE_INT64;
  Handle links{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(links.id, 1);
  Handle ds{H5Dcreate2(id_, name.c_str(), file_type, space.id, links.id, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose};
  if (ds.id < 0) throw UserError(ctx + " cannot be created");
  if (H5Dwrite(ds.id, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr()) < 0) {
    throw UserError(ctx + " cannot be written");
  }
}

void H5File::write_strings(const std::string& name, const std::vector<std::string>& v) {
  const std::string ctx = path_ + ": dataset '" + name + "'";
  std::vector<const char*> ptrs;
  for (const auto& x : v) ptrs.push_back(x.c_str());
  const hsize_t n = v.size();
  Handle space{H5Screate_simple(1, &n, nullptr), H5Sclose};
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, H5T_VARIABLE);
  H5Tset_cset(type.id, H5T_CSET_UTF8);
  Handle links{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(links.id, 1);
  Handle ds{H5Dcreate2(id_, name.c_str(), type.id, space.id, links.id, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose};
  if (ds.id < 0) throw UserError(ctx + " cannot be created");
  if (n > 0 && H5Dwrite(ds.id, type.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
    throw UserError(ctx + " cannot be written");
  }
}

}  // namespace hesp::clip
