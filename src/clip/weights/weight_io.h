#pragma once
// Loading CLIP weights from any of the released containers into name -> float32 tensor,
// the format detected from the file's CONTENT (magic bytes, zip entry names), never its
// extension:
//   - safetensors (OpenAI or Hugging Face CLIPModel naming; F16/BF16/F32/F64),
//   - torch.save zip state dict (our own pickle reader; LibTorch 1.13 cannot read these),
//   - OpenAI TorchScript archive (torch::jit::load; parameters and buffers).
// Hugging Face names are mapped to OpenAI names (hf_names.h).
#include <map>
#include <string>
#include <vector>

#include "clip/weights/byte_reader.h"
#include "clip/weights/hf_names.h"

namespace hesp::clip::weights {

enum class WeightFormat { kSafetensors, kTorchSave, kTorchScript };
const char* format_name(WeightFormat f);

struct LoadedWeights {
  WeightFormat format = WeightFormat::kSafetensors;
  bool hf_naming = false;
  std::string stripped_prefix;                        // "module." (DataParallel/DDP) or ""
  TensorMap tensors;                                  // OpenAI names, float32, contiguous
  std::map<std::string, std::string> storage_dtypes;  // name -> dtype in the file (F16, ...)
  std::map<std::string, std::string> metadata;        // safetensors __metadata__
};

// Detects the format of the bytes; throws UserError for anything unrecognised.
WeightFormat detect_format(ByteSpan bytes, const std::string& what);

// Loads and upcasts every floating tensor to float32. Names saved from DataParallel/DDP
// ("module." in front of every name) are accepted with the prefix stripped; any other
// prefix shared by every name in front of CLIP's names is an error naming it. Throws
// UserError naming the file on any unreadable, truncated or inconsistent content.
LoadedWeights load_weights(const std::string& path);

enum class SaveDType { kF32, kF16 };

// Writes tensors (in the given order) as safetensors, converting floating tensors to
// `dtype` (logit_scale and LayerNorm parameters stay float32 when dtype is F16, as the
// reference half-precision conversion leaves them). Atomic (write + rename).
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      SaveDType dtype, const std::map<std::string, std::string>& metadata);

// Same, as bytes (tests write modified copies).
std::string safetensors_bytes(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata);

}  // namespace hesp::clip::weights
