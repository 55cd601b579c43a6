#pragma once
// The visual prompt (spec §2): a learnable perturbation delta [3, s, s], initialised to
// zeros, placed in a box of side s centred at a per-clip position and fused with every
// frame of the clip on [0, 1] pixels:
//   add     V' = V + pad_c(delta)                 (default, reference implementation)
//   replace V' = (1 - M_c) V + M_c pad_c(delta)   (paper Eq. 7)
#include <torch/torch.h>

#include "config/experiment.pb.h"

namespace hesp::model {

// The top-left corner of the box of side s centred at (row, col), after clamping the
// centre to [s/2, S-1-s/2] on both axes.
std::pair<int64_t, int64_t> box_top_left(int64_t row, int64_t col, int64_t s, int64_t image);

class VisualPromptImpl : public torch::nn::Module {
 public:
  VisualPromptImpl(int64_t size, config::VisualPromptConfig::Fusion fusion);

  // frames [B, T, 3, S, S] in [0, 1]; centers [B, 2] int64 (row, col) -> fused frames.
  torch::Tensor forward(const torch::Tensor& frames, const torch::Tensor& centers) const;
  // The same with the delta each clip uses given: copies [B, 3, s, s] from
  // per_clip_copies(B), so that a caller can read the gradient per clip.
  torch::Tensor forward(const torch::Tensor& frames, const torch::Tensor& centers,
                        const torch::Tensor& copies) const;
  // delta repeated B times [B, 3, s, s], differentiable (its gradient flows to delta).
  torch::Tensor per_clip_copies(int64_t batch) const;

  torch::Tensor delta;  // [3, s, s], learnable.

 private:
  int64_t size_;
  config::VisualPromptConfig::Fusion fusion_;
};
TORCH_MODULE(VisualPrompt);

}  // namespace hesp::model
