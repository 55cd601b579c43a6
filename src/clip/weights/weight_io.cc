#include "clip/weights/weight_io.h"

#include <torch/script.h>

#include "clip/weights/mapped_file.h"
#include "clip/weights/safetensors.h"
#include "clip/weights/torch_pickle.h"
#include "clip/weights/zip_reader.h"
#include "util/fs.h"

namespace hesp::clip::weights {
namespace {

torch::ScalarType scalar_type(DType d) {
  switch (d) {
    case DType::kF16:
      return torch::kHalf;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kF32:
      return torch::kFloat;
    case DType::kF64:
      return torch::kDouble;
    case DType::kI64:
      return torch::kLong;
    case DType::kI32:
      return torch::kInt;
    case DType::kI16:
      return torch::kShort;
    case DType::kI8:
      return torch::kChar;
    case DType::kU8:
      return torch::kByte;
    case DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat;
}

std::string torch_dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kHalf:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    case torch::kFloat:
      return "F32";
    case torch::kDouble:
      return "F64";
    case torch::kLong:
      return "I64";
    case torch::kInt:
      return "I32";
    default:
      return c10::toString(t);
  }
}

// Copies a raw (possibly strided) view out of the mapped file; floating tensors become
// float32. The copy never aliases the mapping, which is unmapped after loading.
torch::Tensor to_tensor(const RawTensor& raw, const std::string& what) {
  check_raw_tensor_extent(raw, what);
  const torch::ScalarType st = scalar_type(raw.dtype);
  const int64_t storage_numel = static_cast<int64_t>(raw.storage.size / dtype_size(raw.dtype));
  // from_blob wants a mutable pointer; the tensor is only read before the copy below.
  auto storage = torch::from_blob(const_cast<uint8_t*>(raw.storage.data), {storage_numel},
                                  torch::TensorOptions().dtype(st));
  std::vector<int64_t> strides = raw.strides;
  if (strides.empty()) {
    strides.assign(raw.shape.size(), 1);
    for (size_t i = raw.shape.size(); i-- > 1;)
      strides[i - 1] = strides[i] * std::max<int64_t>(raw.shape[i], 1);
  }
  auto view = raw.numel() == 0 ? torch::empty(raw.shape, st)
                               : storage.as_strided(raw.shape, strides, raw.storage_offset);
  const bool floating = torch::isFloatingType(st);
  return view.to(floating ? torch::kFloat : st, /*non_blocking=*/false, /*copy=*/true).contiguous();
}

void load_safetensors(ByteSpan bytes, const std::string& path, LoadedWeights* out) {
  auto file = parse_safetensors(bytes, path);
  out->metadata = file.metadata;
  for (const auto& raw : file.tensors) {
    out->tensors[raw.name] = to_tensor(raw, path);
    out->storage_dtypes[raw.name] = dtype_name(raw.dtype);
  }
}

// The single top-level folder torch.save puts everything under (`<name>/data.pkl`).
std::string archive_prefix(const ZipArchive& zip, const std::string& marker) {
  for (const auto& n : zip.names()) {
    if (n.size() >= marker.size() &&
        n.compare(n.size() - marker.size(), marker.size(), marker) == 0) {
      return n.substr(0, n.size() - marker.size() + 1);  // keeps the trailing '/'
    }
  }
  return "";
}

void load_torch_save(ByteSpan bytes, const std::string& path, LoadedWeights* out) {
  ZipArchive zip(bytes, path);
  const std::string prefix = archive_prefix(zip, "/data.pkl");
  if (prefix.empty()) throw UserError(path + ": torch.save archive without data.pkl");
  const auto pickled = parse_torch_pickle(zip.entry(prefix + "data.pkl"), path);
  for (const auto& p : pickled) {
    RawTensor raw;
    raw.name = p.name;
    raw.dtype = p.dtype;
    raw.shape = p.sizes;
    raw.strides = p.strides;
    raw.storage_offset = p.storage_offset;
    raw.storage = zip.entry(prefix + "data/" + p.storage_key);
    const uint64_t declared = static_cast<uint64_t>(p.storage_numel) * dtype_size(p.dtype);
    if (p.storage_numel > (int64_t{1} << 50) || raw.storage.size < declared) {
      throw UserError(path + ": storage " + p.storage_key + " of tensor '" + p.name + "' holds " +
                      std::to_string(raw.storage.size) + " bytes but declares " +
                      std::to_string(p.storage_numel) + " elements (truncated or corrupt file)");
    }
    raw.storage = raw.storage.sub(0, declared, path);
    out->tensors[p.name] = to_tensor(raw, path);
    out->storage_dtypes[p.name] = dtype_name(p.dtype);
  }
}

void load_torchscript(const std::string& path, LoadedWeights* out) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    // The first line of torch's message says what failed; the rest is a C++ backtrace.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    throw UserError(path + ": cannot load TorchScript archive: " + msg);
  }
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    out->storage_dtypes[name] = torch_dtype_name(t.scalar_type());
    const bool floating = torch::isFloatingType(t.scalar_type());
    out->tensors[name] =
        t.detach().to(floating ? torch::kFloat : t.scalar_type(), false, true).contiguous();
  };
  for (const auto& p : module.named_parameters(/*recurse=*/true)) add(p.name, p.value);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) add(b.name, b.value);
}

bool all_names_start_with(const TensorMap& tensors, const std::string& prefix) {
  if (tensors.empty()) return false;
  for (const auto& [name, t] : tensors) {
    if (name.rfind(prefix, 0) != 0) return false;
  }
  return true;
}

// Names only a CLIP state dict (OpenAI or Hugging Face naming) has, after `prefix`.
bool looks_like_clip(const TensorMap& tensors, const std::string& prefix) {
  for (const char* n : {"visual.conv1.weight", "token_embedding.weight", "text_projection",
                        "vision_model.embeddings.patch_embedding.weight",
                        "text_model.embeddings.token_embedding.weight"}) {
    if (tensors.count(prefix + n)) return true;
  }
  return false;
}

// A checkpoint saved from torch.nn.DataParallel / DistributedDataParallel holds every name
// under "module." (once per wrapping): strip it. Another prefix shared by every name in
// front of CLIP's own names is named in the error, not guessed away.
void strip_wrapper_prefix(LoadedWeights* out, const std::string& path) {
  while (all_names_start_with(out->tensors, "module.")) {
    TensorMap renamed;
    std::map<std::string, std::string> dtypes;
    for (auto& [name, t] : out->tensors) renamed[name.substr(7)] = std::move(t);
    for (auto& [name, d] : out->storage_dtypes) {
      dtypes[name.rfind("module.", 0) == 0 ? name.substr(7) : name] = d;
    }
    out->tensors = std::move(renamed);
    out->storage_dtypes = std::move(dtypes);
    out->stripped_prefix += "module.";
  }
  if (out->tensors.empty() || looks_like_clip(out->tensors, "")) return;
  const std::string& first = out->tensors.begin()->first;
  const auto dot = first.find('.');
  if (dot == std::string::npos) return;
  const std::string prefix = first.substr(0, dot + 1);
  if (all_names_start_with(out->tensors, prefix) && looks_like_clip(out->tensors, prefix)) {
    throw UserError(path + ": every tensor name starts with '" + prefix + "' (e.g. '" + first +
                    "'): a CLIP state dict inside a wrapper. hesp strips only 'module.' "
                    "(DataParallel/DDP); save the inner model's state_dict() instead");
  }
}

}  // namespace

const char* format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kSafetensors:
      return "safetensors";
    case WeightFormat::kTorchSave:
      return "torch.save zip";
    case WeightFormat::kTorchScript:
      return "TorchScript archive";
  }
  return "?";
}

WeightFormat detect_format(ByteSpan bytes, const std::string& what) {
  const std::string_view v = bytes.view();
  if (v.size() >= 4 && v.substr(0, 2) == "PK" && (v[2] == 3 || v[2] == 5)) {
    ZipArchive zip(bytes, what);
    bool has_code = false, has_data_pkl = false;
    for (const auto& n : zip.names()) {
      if (n.find("/code/") != std::string::npos ||
          (n.size() >= 14 && n.compare(n.size() - 14, 14, "/constants.pkl") == 0)) {
        has_code = true;
      }
      if (n.size() >= 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0) has_data_pkl = true;
    }
    if (has_code) return WeightFormat::kTorchScript;
    if (has_data_pkl) return WeightFormat::kTorchSave;
    throw UserError(what +
                    ": zip archive that is neither a TorchScript archive nor a torch.save "
                    "file (no code/ and no data.pkl entries)");
  }
  if (v.size() >= 2 && static_cast<uint8_t>(v[0]) == 0x80 && v[1] <= 5) {
    throw UserError(what +
                    ": legacy (pre-1.6, non-zip) torch.save file; re-save it with "
                    "torch.save(state_dict, path) from a recent PyTorch");
  }
  if (v.size() >= 9) {
    ByteReader r(bytes, what);
    const uint64_t n = r.u64();
    if (n <= v.size() - 8 && v[8] == '{') return WeightFormat::kSafetensors;
    if (v[8] == '{') {
      throw UserError(what + " (safetensors): header length " + std::to_string(n) +
                      " exceeds the file (" + std::to_string(v.size()) +
                      " bytes): truncated or corrupt file");
    }
  }
  throw UserError(what +
                  ": unrecognised weight file format (expected safetensors, a torch.save "
                  "zip or a TorchScript archive)");
}

LoadedWeights load_weights(const std::string& path) {
  LoadedWeights out;
  {
    MappedFile file(path);
    out.format = detect_format(file.bytes(), path);
    if (out.format == WeightFormat::kSafetensors) load_safetensors(file.bytes(), path, &out);
    if (out.format == WeightFormat::kTorchSave) load_torch_save(file.bytes(), path, &out);
  }
  if (out.format == WeightFormat::kTorchScript) load_torchscript(path, &out);
  strip_wrapper_prefix(&out, path);
  if (is_hf_clip_naming(out.tensors)) {
    out.hf_naming = true;
    out.tensors = hf_to_openai(out.tensors, &out.storage_dtypes);
  }
  return out;
}

std::string safetensors_bytes(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;  // contiguous CPU copies the entries point into
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) {
    keep.push_back(t.detach().cpu().contiguous());
    const auto& c = keep.back();
    DType d;
    if (!dtype_from_name(torch_dtype_name(c.scalar_type()), &d)) {
      throw UserError("cannot write tensor '" + name + "' of dtype " +
                      c10::toString(c.scalar_type()) + " as safetensors");
    }
    entries.push_back({name, d, c.sizes().vec(),
                       std::string_view(static_cast<const char*>(c.data_ptr()), c.nbytes())});
  }
  return write_safetensors(entries, metadata);
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      SaveDType dtype, const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> converted;
  for (const auto& [name, t] : tensors) {
    // The reference fp16 policy: matrices and biases of Linear/Conv/attention and the
    // projections are half; LayerNorm, embeddings, class token and logit_scale stay fp32.
    const bool keep_fp32 = name.find("ln_") != std::string::npos ||
                           name.find("embedding") != std::string::npos || name == "logit_scale";
    const bool half = dtype == SaveDType::kF16 && !keep_fp32 && t.is_floating_point();
    converted.emplace_back(name, t.to(half ? torch::kHalf : torch::kFloat));
  }
  fs::atomic_write_file(path, safetensors_bytes(converted, metadata));
}

}  // namespace hesp::clip::weights
