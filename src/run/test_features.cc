#include "run/test_features.h"

#include <unistd.h>

#include <glog/logging.h>

#include "data/format/h5.h"
#include "util/errors.h"

namespace hesp::run {

namespace h5 = data::h5;
namespace stdfs = std::filesystem;

void write_test_features(const stdfs::path& path, const TestFeatures& f) {
  const auto x = f.features.to(torch::kCPU, torch::kFloat32).contiguous();
  CHECK_EQ(x.dim(), 2);
  CHECK_EQ(static_cast<size_t>(x.size(0)), f.labels.size());
  CHECK_EQ(f.labels.size(), f.clip_ids.size());
  const stdfs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    h5::Handle file = h5::create_file(tmp);
    const hsize_t dims[2] = {static_cast<hsize_t>(x.size(0)), static_cast<hsize_t>(x.size(1))};
    h5::Handle space(H5Screate_simple(2, dims, nullptr));
    h5::Handle d(H5Dcreate2(file.get(), "features", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT));
    if (!d.valid() || H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                               x.data_ptr<float>()) < 0) {
      throw UserError("cannot write /features of " + tmp.string());
    }
    h5::write_int32s(file.get(), "labels", f.labels);
    h5::write_strings(file.get(), "clip_ids", f.clip_ids);
    d.reset();
    if (!file.reset()) throw UserError("cannot close " + tmp.string());
  }
  std::error_code ec;
  stdfs::rename(tmp, path, ec);
  if (ec) throw UserError("cannot rename " + tmp.string() + " to " + path.string());
}

TestFeatures read_test_features(const stdfs::path& path) {
  TestFeatures f;
  h5::Handle file = h5::open_file_read(path);
  const auto shape = h5::dataset_shape(file.get(), "features");
  if (shape.size() != 2) throw UserError(path.string() + ": /features is not 2-D");
  f.features = torch::empty({static_cast<int64_t>(shape[0]), static_cast<int64_t>(shape[1])});
  h5::Handle d(H5Dopen2(file.get(), "features", H5P_DEFAULT));
  if (!d.valid() || H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                            f.features.data_ptr<float>()) < 0) {
    throw UserError(path.string() + ": cannot read /features");
  }
  f.labels = h5::read_int32s(file.get(), "labels");
  f.clip_ids = h5::read_strings(file.get(), "clip_ids");
  if (f.labels.size() != shape[0] || f.clip_ids.size() != shape[0]) {
    throw UserError(path.string() + ": /features, /labels and /clip_ids differ in length");
  }
  return f;
}

}  // namespace hesp::run
