#pragma once
// CLIP's input normalisation (spec §1), applied AFTER the visual prompt, which lives on
// [0, 1] pixels.
#include <torch/torch.h>

namespace hesp::model {

inline torch::Tensor clip_mean(const torch::TensorOptions& o) {
  return torch::tensor({0.48145466, 0.4578275, 0.40821073}, o).view({3, 1, 1});
}
inline torch::Tensor clip_std(const torch::TensorOptions& o) {
  return torch::tensor({0.26862954, 0.26130258, 0.27577711}, o).view({3, 1, 1});
}

// x [..., 3, H, W] in [0, 1] -> CLIP-normalised.
inline torch::Tensor clip_normalize(const torch::Tensor& x) {
  const auto o = x.options();
  return (x - clip_mean(o)) / clip_std(o);
}

}  // namespace hesp::model
