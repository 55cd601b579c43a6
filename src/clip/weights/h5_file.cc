#include "clip/weights/h5_file.h"

#include <hdf5.h>

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

torch::Tensor H5File::read(const std::string& name, bool floating) const {
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
  auto t = torch::empty(shape, floating ? torch::kFloat : torch::kLong);
  if (t.numel() > 0 && H5Dread(ds.id, floating ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL,
                               H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0) {
    throw UserError(ctx + " cannot be read");
  }
  return t;
}

torch::Tensor H5File::read_float(const std::string& name) const { return read(name, true); }
torch::Tensor H5File::read_int64(const std::string& name) const { return read(name, false); }

void H5File::write(const std::string& name, const torch::Tensor& t) {
  const std::string ctx = path_ + ": dataset '" + name + "'";
  const bool floating = t.is_floating_point();
  auto c = t.detach().cpu().to(floating ? torch::kFloat : torch::kLong).contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  Handle space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  const hid_t file_type = floating ? H5T_IEEE_F32LE : H5T_STD_I64LE;
  Handle ds{
      H5Dcreate2(id_, name.c_str(), file_type, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose};
  if (ds.id < 0) throw UserError(ctx + " cannot be created");
  if (H5Dwrite(ds.id, floating ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
               c.data_ptr()) < 0) {
    throw UserError(ctx + " cannot be written");
  }
}

}  // namespace hesp::clip
