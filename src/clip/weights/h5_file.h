#pragma once
// Minimal RAII wrapper over the HDF5 C API for `hesp clip encode` and the reference tests:
// read/write whole float32/int64 datasets as tensors. Every failure throws UserError
// naming the file and dataset (HDF5's own error stack printing is silenced).
#include <string>
#include <vector>

#include <torch/torch.h>

namespace hesp::clip {

class H5File {
 public:
  static H5File open_read(const std::string& path);
  static H5File create(const std::string& path);  // truncates
  ~H5File();
  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&&) = delete;
  H5File(const H5File&) = delete;

  bool has(const std::string& name) const;
  // Reads a floating dataset as float32 / float64 / an integer dataset as int64, any rank.
  torch::Tensor read_float(const std::string& name) const;
  torch::Tensor read_double(const std::string& name) const;
  torch::Tensor read_int64(const std::string& name) const;
  // A 1-D dataset of strings (variable or fixed length).
  std::vector<std::string> read_strings(const std::string& name) const;
  // Writes a tensor (converted to contiguous CPU first): float64 stays float64, other
  // floating types become float32, integers int64. Missing groups on the path ("a/b/c")
  // are created.
  void write(const std::string& name, const torch::Tensor& t);
  // A 1-D dataset of variable-length UTF-8 strings (groups created as for write).
  void write_strings(const std::string& name, const std::vector<std::string>& v);
  const std::string& path() const { return path_; }

 private:
  H5File(long long id, std::string path) : id_(id), path_(std::move(path)) {}
  torch::Tensor read(const std::string& name, torch::ScalarType dtype) const;

  long long id_ = -1;  // hid_t (int64_t in HDF5 1.10), kept opaque to keep hdf5.h out
  std::string path_;
};

}  // namespace hesp::clip
