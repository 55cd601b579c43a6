#include "clip/weights/raw_tensor.h"

#include <limits>

namespace hesp::clip::weights {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
                                 {DType::kF32, "F32", 4}, {DType::kF64, "F64", 8},
                                 {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
                                 {DType::kI16, "I16", 2}, {DType::kI8, "I8", 1},
                                 {DType::kU8, "U8", 1},   {DType::kBool, "BOOL", 1}};

const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes) {
    if (i.dtype == d) return i;
  }
  return kDTypes[0];
}

std::string shape_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

size_t dtype_size(DType d) { return info(d).size; }
const char* dtype_name(DType d) { return info(d).name; }

bool dtype_from_name(const std::string& name, DType* out) {
  for (const auto& i : kDTypes) {
    if (name == i.name) {
      *out = i.dtype;
      return true;
    }
  }
  return false;
}

int64_t RawTensor::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

void check_raw_tensor_extent(const RawTensor& t, const std::string& what) {
  const std::string ctx = what + ": tensor '" + t.name + "'";
  if (!t.strides.empty() && t.strides.size() != t.shape.size()) {
    throw UserError(ctx + " has " + std::to_string(t.shape.size()) + " sizes but " +
                    std::to_string(t.strides.size()) + " strides");
  }
  if (t.storage_offset < 0) throw UserError(ctx + " has a negative storage offset");
  // Largest reachable element index, computed with overflow checks: a corrupt header
  // must not wrap around into a small, "valid" number.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 16;
  int64_t numel = 1, last = t.storage_offset, contiguous_stride = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    const int64_t size = t.shape[i];
    const int64_t stride = t.strides.empty() ? contiguous_stride : t.strides[i];
    if (size < 0 || stride < 0) throw UserError(ctx + " has a negative size or stride");
    if (size > 0 && numel > kMax / size) throw UserError(ctx + " is impossibly large");
    numel *= size;
    if (size > 0 && stride > 0 && (size - 1) > (kMax - last) / stride) {
      throw UserError(ctx + " has impossibly large strides");
    }
    if (size > 0) last += (size - 1) * stride;
    if (size > 0 && contiguous_stride > kMax / size) {
      throw UserError(ctx + " is impossibly large");
    }
    contiguous_stride *= std::max<int64_t>(size, 1);
  }
  const uint64_t elem = dtype_size(t.dtype);
  const uint64_t available = t.storage.size / elem;
  if (numel > 0 && static_cast<uint64_t>(last) >= available) {
    throw UserError(ctx + " with shape " + shape_string(t.shape) + " needs element " +
                    std::to_string(last) + " but its storage holds only " +
                    std::to_string(available) + " elements (truncated or corrupt file)");
  }
}

}  // namespace hesp::clip::weights
