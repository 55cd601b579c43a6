#include "checkpoint/checkpoint_format.h"

#include <glog/logging.h>

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.pb.h"
#include "util/errors.h"
#include "util/hash.h"

namespace hesp::checkpoint {
namespace {

constexpr char kMagic[8] = {'H', 'E', 'S', 'P', 'C', 'K', 'P', 'T'};
constexpr size_t kHashHexSize = 64;

// Raw tensor bytes are written in host order; every platform we build for is
// little-endian, and the format says so.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "hespckpt assumes little-endian");

// dtype <-> portable name. Only types a trainer actually stores are listed.
const std::vector<std::pair<torch::ScalarType, std::string>>& dtype_names() {
  static const std::vector<std::pair<torch::ScalarType, std::string>> names = {
      {torch::kFloat32, "float32"},   {torch::kFloat64, "float64"}, {torch::kFloat16, "float16"},
      {torch::kBFloat16, "bfloat16"}, {torch::kInt64, "int64"},     {torch::kInt32, "int32"},
      {torch::kInt16, "int16"},       {torch::kInt8, "int8"},       {torch::kUInt8, "uint8"},
      {torch::kBool, "bool"}};
  return names;
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [type, name] : dtype_names()) {
    if (type == t) return name;
  }
  LOG(FATAL) << "checkpoint: unsupported tensor dtype " << t;
  return {};
}

bool dtype_from_name(const std::string& name, torch::ScalarType* out) {
  for (const auto& [type, n] : dtype_names()) {
    if (n == name) {
      *out = type;
      return true;
    }
  }
  return false;
}

void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(std::string_view bytes, size_t offset, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return v;
}

}  // namespace

std::string serialize_checkpoint(const CheckpointState& state) {
  CheckpointMeta meta;
  meta.set_epoch(state.epoch);
  meta.set_step(state.step);
  meta.set_config_hash(state.config_hash);
  meta.set_manifest_fingerprint(state.manifest_fingerprint);
  meta.set_config_text(state.config_text);
  meta.set_hesp_version(HESP_VERSION);
  meta.set_wall_time(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());

  std::string payload;
  for (const auto& [name, tensor] : state.tensors) {
    CHECK(tensor.defined()) << "checkpoint: tensor '" << name << "' is undefined";
    // detach: autograd leaves may be passed directly; contiguous + cpu gives row-major
    // host bytes whatever the input's strides or device.
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    auto* entry = meta.add_tensors();
    entry->set_name(name);
    entry->set_dtype(dtype_name(t.scalar_type()));
    for (int64_t d : t.sizes()) entry->add_shape(d);
    const size_t nbytes = t.numel() * t.element_size();
    entry->set_offset(payload.size());
    entry->set_nbytes(nbytes);
    payload.append(static_cast<const char*>(t.data_ptr()), nbytes);
  }
  for (const auto& [name, blob] : state.blobs) {
    auto* entry = meta.add_blobs();
    entry->set_name(name);
    entry->set_offset(payload.size());
    entry->set_nbytes(blob.size());
    payload.append(blob);
  }

  for (const auto& [name, value] : state.scalars) {
    auto* entry = meta.add_scalars();
    entry->set_name(name);
    entry->set_value(value);
  }

  std::string meta_bytes;
  CHECK(meta.SerializeToString(&meta_bytes)) << "checkpoint: cannot serialise metadata";
  std::string body = meta_bytes;
  body.append(payload);

  std::string out;
  out.reserve(kCheckpointHeaderSize + body.size());
  out.append(kMagic, sizeof(kMagic));
  put_u32(&out, kCheckpointFormatVersion);
  put_u32(&out, 0);
  put_u64(&out, meta_bytes.size());
  put_u64(&out, payload.size());
  const std::string digest = hash::sha256_hex(body);
  CHECK_EQ(digest.size(), kHashHexSize);
  out.append(digest);
  CHECK_EQ(out.size(), kCheckpointHeaderSize);
  out.append(body);
  return out;
}

CheckpointState parse_checkpoint(std::string_view bytes, const std::string& source) {
  auto fail = [&](const std::string& why) -> UserError {
    return UserError("checkpoint " + source + ": " + why);
  };
  if (bytes.size() < kCheckpointHeaderSize) {
    throw fail("truncated (" + std::to_string(bytes.size()) + " bytes, header needs " +
               std::to_string(kCheckpointHeaderSize) + ")");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw fail("not a hesp checkpoint (bad magic)");
  }
  const uint32_t version = static_cast<uint32_t>(get_le(bytes, 8, 4));
  if (version != kCheckpointFormatVersion) {
    throw fail("format version " + std::to_string(version) + " is not supported (expected " +
               std::to_string(kCheckpointFormatVersion) + ")");
  }
  const uint64_t meta_size = get_le(bytes, 16, 8);
  const uint64_t payload_size = get_le(bytes, 24, 8);
  const uint64_t body_size = bytes.size() - kCheckpointHeaderSize;
  // Compare without overflow: each size alone must fit before their sum is formed.
  if (meta_size > body_size || payload_size > body_size - meta_size ||
      meta_size + payload_size != body_size) {
    throw fail("size mismatch: header says " + std::to_string(meta_size) + " + " +
               std::to_string(payload_size) + " bytes, file has " + std::to_string(body_size) +
               " (truncated or corrupt)");
  }
  const std::string_view body = bytes.substr(kCheckpointHeaderSize);
  const std::string stored(bytes.substr(32, kHashHexSize));
  const std::string actual = hash::sha256_hex(body);
  if (stored != actual) {
    throw fail("checksum mismatch (stored sha256 " + stored + ", computed " + actual + ")");
  }

  CheckpointMeta meta;
  if (!meta.ParseFromArray(body.data(), static_cast<int>(meta_size))) {
    throw fail("metadata does not parse");
  }
  const std::string_view payload = body.substr(meta_size);
  auto check_range = [&](uint64_t offset, uint64_t n, const std::string& what) {
    if (offset > payload.size() || n > payload.size() - offset) {
      throw fail(what + " points outside the payload");
    }
  };

  CheckpointState state;
  state.epoch = meta.epoch();
  state.step = meta.step();
  state.config_hash = meta.config_hash();
  state.manifest_fingerprint = meta.manifest_fingerprint();
  state.config_text = meta.config_text();
  for (const auto& e : meta.tensors()) {
    torch::ScalarType type;
    if (!dtype_from_name(e.dtype(), &type)) {
      throw fail("tensor '" + e.name() + "' has unknown dtype '" + e.dtype() + "'");
    }
    std::vector<int64_t> shape(e.shape().begin(), e.shape().end());
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) throw fail("tensor '" + e.name() + "' has a negative dimension");
      numel *= d;
    }
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
    const uint64_t expected = static_cast<uint64_t>(numel) * t.element_size();
    if (expected != e.nbytes()) {
      throw fail("tensor '" + e.name() + "' has " + std::to_string(e.nbytes()) +
                 " bytes for a shape needing " + std::to_string(expected));
    }
    check_range(e.offset(), e.nbytes(), "tensor '" + e.name() + "'");
    if (e.nbytes() > 0) std::memcpy(t.data_ptr(), payload.data() + e.offset(), e.nbytes());
    if (!state.tensors.emplace(e.name(), std::move(t)).second) {
      throw fail("tensor '" + e.name() + "' appears twice");
    }
  }
  for (const auto& b : meta.blobs()) {
    check_range(b.offset(), b.nbytes(), "blob '" + b.name() + "'");
    if (!state.blobs.emplace(b.name(), std::string(payload.substr(b.offset(), b.nbytes())))
             .second) {
      throw fail("blob '" + b.name() + "' appears twice");
    }
  }
  for (const auto& e : meta.scalars()) {
    if (!state.scalars.emplace(e.name(), e.value()).second) {
      throw fail("scalar '" + e.name() + "' appears twice");
    }
  }
  return state;
}

}  // namespace hesp::checkpoint
