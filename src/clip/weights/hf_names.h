#pragma once
// Hugging Face CLIPModel naming -> OpenAI CLIP state-dict naming, so one model class loads
// both. q/k/v projections are concatenated into in_proj (q, k, v order, as
// nn.MultiheadAttention stores them) and the two projections are transposed (HF keeps
// nn.Linear [E, W] weights; OpenAI multiplies x @ proj with proj [W, E]).
#include <map>
#include <string>

#include <torch/torch.h>

namespace hesp::clip::weights {

using TensorMap = std::map<std::string, torch::Tensor>;

// True when `names` look like a Hugging Face CLIPModel state dict.
bool is_hf_clip_naming(const TensorMap& tensors);

// Renames every recognised HF tensor; unrecognised names pass through unchanged (they are
// reported later as unexpected). `position_ids` buffers are dropped: they are indices,
// not weights. `dtypes` (name -> storage dtype) is renamed alongside.
TensorMap hf_to_openai(const TensorMap& hf, std::map<std::string, std::string>* dtypes);

// The inverse, used by tests and `hesp clip init --naming hf`.
TensorMap openai_to_hf(const TensorMap& openai);

}  // namespace hesp::clip::weights
