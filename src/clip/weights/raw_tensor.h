#pragma once
// A tensor as it lies in a weight file, before LibTorch sees it: dtype, shape, strides and
// the bytes of its storage. The format readers (safetensors, torch.save pickle) produce
// these without LibTorch so they can be fuzzed alone; tensor_convert.h makes them tensors.
#include <cstdint>
#include <string>
#include <vector>

#include "clip/weights/byte_reader.h"

namespace hesp::clip::weights {

enum class DType { kF16, kBF16, kF32, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

size_t dtype_size(DType d);
const char* dtype_name(DType d);  // safetensors spelling: F16, BF16, F32, ...
// Parses the safetensors spelling; returns false for an unknown name.
bool dtype_from_name(const std::string& name, DType* out);

struct RawTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements; empty = contiguous
  int64_t storage_offset = 0;    // in elements
  ByteSpan storage;              // the whole storage the tensor views

  int64_t numel() const;
};

// Throws UserError unless every element the (shape, strides, offset) view can reach lies
// inside `storage`. Guards the later as_strided against reading outside the file.
void check_raw_tensor_extent(const RawTensor& t, const std::string& what);

}  // namespace hesp::clip::weights
