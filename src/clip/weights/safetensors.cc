#include "clip/weights/safetensors.h"

#include <nlohmann/json.hpp>

namespace hesp::clip::weights {
namespace {

// Real headers are a few hundred KiB; anything near this is corruption, and refusing it
// early avoids allocating for a garbage length.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

int64_t json_int(const nlohmann::json& v, const std::string& ctx) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    throw UserError(ctx + " must be a non-negative integer");
  }
  if (v.is_number_integer() && v.get<int64_t>() < 0) {
    throw UserError(ctx + " must be a non-negative integer");
  }
  const uint64_t u = v.get<uint64_t>();
  if (u > (1ull << 62)) throw UserError(ctx + " is impossibly large");
  return static_cast<int64_t>(u);
}

}  // namespace

SafetensorsFile parse_safetensors(ByteSpan bytes, const std::string& what) {
  const std::string ctx = what + " (safetensors)";
  ByteReader r(bytes, ctx);
  const uint64_t header_len = r.u64();
  if (header_len > kMaxHeaderBytes || header_len > r.remaining()) {
    throw UserError(ctx + ": header length " + std::to_string(header_len) + " exceeds the file (" +
                    std::to_string(bytes.size) + " bytes): truncated or corrupt file");
  }
  const std::string_view header = r.bytes(header_len);
  const ByteSpan data = bytes.sub(8 + header_len, bytes.size - 8 - header_len, ctx);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(ctx + ": header is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw UserError(ctx + ": header is not a JSON object");
  SafetensorsFile out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const std::string tctx = ctx + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!it->is_object()) throw UserError(ctx + ": __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw UserError(ctx + ": __metadata__." + m.key() + " not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& v = *it;
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets")) {
      throw UserError(tctx + " needs dtype, shape and data_offsets");
    }
    RawTensor t;
    t.name = name;
    if (!v["dtype"].is_string() || !dtype_from_name(v["dtype"].get<std::string>(), &t.dtype)) {
      throw UserError(tctx + " has unsupported dtype " + v["dtype"].dump());
    }
    if (!v["shape"].is_array()) throw UserError(tctx + ": shape is not an array");
    if (v["shape"].size() > 16) throw UserError(tctx + ": too many dimensions");
    for (const auto& d : v["shape"]) t.shape.push_back(json_int(d, tctx + " shape entry"));
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2) {
      throw UserError(tctx + ": data_offsets must be [begin, end]");
    }
    const int64_t begin = json_int(off[0], tctx + " data_offsets[0]");
    const int64_t end = json_int(off[1], tctx + " data_offsets[1]");
    if (begin > end) throw UserError(tctx + ": data_offsets begin > end");
    t.storage = data.sub(begin, end - begin, tctx + " data");
    // Compare byte counts with overflow-safe arithmetic: the shape comes from the file.
    uint64_t expected = dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      if (d != 0 && expected > (1ull << 62) / static_cast<uint64_t>(d)) {
        throw UserError(tctx + " has an impossibly large shape");
      }
      expected *= static_cast<uint64_t>(d);
    }
    if (expected != t.storage.size) {
      throw UserError(tctx + " holds " + std::to_string(t.storage.size) +
                      " bytes but its dtype and shape need " + std::to_string(expected));
    }
    out.tensors.push_back(std::move(t));
  }
  return out;
}

std::string write_safetensors(const std::vector<SafetensorsEntry>& entries,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& e : entries) {
    header[e.name] = {{"dtype", dtype_name(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  const uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += text;
  for (const auto& e : entries) out.append(e.bytes.data(), e.bytes.size());
  return out;
}

}  // namespace hesp::clip::weights
