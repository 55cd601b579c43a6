#pragma once
// safetensors: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// raw little-endian bytes (offsets relative to the end of the header). Torch-free.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "clip/weights/raw_tensor.h"

namespace hesp::clip::weights {

struct SafetensorsFile {
  std::vector<RawTensor> tensors;  // header order (keys sorted, as JSON objects are)
  std::map<std::string, std::string> metadata;
};

// Parses and validates the header; tensor storages point into `bytes`. Throws UserError
// (prefixed with `what`) for any inconsistency: bad length, bad JSON, unknown dtype,
// offsets outside the data, a byte count that does not match the shape.
SafetensorsFile parse_safetensors(ByteSpan bytes, const std::string& what);

// One tensor to write: contiguous little-endian bytes.
struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

// Serialises entries in the given order, header padded with spaces to 8 bytes.
std::string write_safetensors(const std::vector<SafetensorsEntry>& entries,
                              const std::map<std::string, std::string>& metadata);

}  // namespace hesp::clip::weights
