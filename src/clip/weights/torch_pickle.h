#pragma once
// Reader for the pickle (protocol 2) that torch.save writes as `<name>/data.pkl`: an
// OrderedDict (or dict) of name -> torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, ...), where each storage is a persistent id ('storage', torch.<T>Storage, key,
// location, numel) naming the zip entry `<name>/data/<key>`. Only the opcodes torch.save
// emits are understood; anything else (and every malformed input) throws UserError.
// Torch-free so the fuzz target can compile it alone.
#include <string>
#include <vector>

#include "clip/weights/raw_tensor.h"

namespace hesp::clip::weights {

struct PickledTensor {
  std::string name;
  std::string storage_key;  // zip entry `<archive>/data/<storage_key>`
  DType dtype = DType::kF32;
  int64_t storage_numel = 0;
  int64_t storage_offset = 0;  // in elements
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

// Parses `pickle` and returns the tensors of the top-level dict in pickle order.
std::vector<PickledTensor> parse_torch_pickle(ByteSpan pickle, const std::string& what);

}  // namespace hesp::clip::weights
