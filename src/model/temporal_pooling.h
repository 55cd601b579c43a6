#pragma once
// Temporal pooling of per-frame CLIP embeddings [B, T, E] into one video embedding [B, E]
// (spec §3): `mean` (the paper) or `transformer` (beyond the paper: one pre-norm
// transformer layer with a learnable class token and positions; its output at the class
// token is the video embedding).
#include <torch/torch.h>

#include "config/experiment.pb.h"

namespace hesp::model {

class TemporalPoolingImpl : public torch::nn::Module {
 public:
  TemporalPoolingImpl(config::ModelConfig::Temporal kind, int64_t frames, int64_t dim);
  torch::Tensor forward(const torch::Tensor& x) const;  // [B, T, E] -> [B, E]

 private:
  config::ModelConfig::Temporal kind_;
  torch::Tensor class_token_, positions_;
  // Module holders are called through const forward(); torch's forward() is non-const.
  mutable torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  mutable torch::nn::MultiheadAttention attention_{nullptr};
  mutable torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(TemporalPooling);

}  // namespace hesp::model
