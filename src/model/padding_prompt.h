#pragma once
// The padding visual prompt (the paper's Fig. 3b, after pixel-space visual prompting,
// Bahng et al. 2022): a learnable frame border of width p instead of a box. delta
// [3, S, S] (zeros at start) acts only through the border mask M (1 on the p outermost
// rows and columns), fused with every frame on [0, 1] pixels like the box prompt:
//   add     V' = V + M delta
//   replace V' = (1 - M) V + M delta
// Interior entries of delta get no gradient and stay zero.
#include <torch/torch.h>

#include "config/experiment.pb.h"

namespace hesp::model {

class PaddingPromptImpl : public torch::nn::Module {
 public:
  // width p >= 1 with 2p < image (config validation checks this).
  PaddingPromptImpl(int64_t width, int64_t image, config::VisualPromptConfig::Fusion fusion);

  // frames [B, T, 3, S, S] in [0, 1] -> fused frames, same shape.
  torch::Tensor forward(const torch::Tensor& frames) const;

  torch::Tensor delta;                                 // [3, S, S], learnable.
  const torch::Tensor& mask() const { return mask_; }  // [1, S, S] float, 1 on the border.

 private:
  config::VisualPromptConfig::Fusion fusion_;
  torch::Tensor mask_;
};
TORCH_MODULE(PaddingPrompt);

}  // namespace hesp::model
