#include "model/temporal_pooling.h"

#include <algorithm>

namespace hesp::model {

TemporalPoolingImpl::TemporalPoolingImpl(config::ModelConfig::Temporal kind, int64_t frames,
                                         int64_t dim)
    : kind_(kind) {
  if (kind_ != config::ModelConfig::transformer) return;
  const int64_t heads = std::max<int64_t>(1, dim / 64);
  class_token_ = register_parameter("class_token", torch::randn({1, 1, dim}) * 0.02);
  positions_ = register_parameter("positions", torch::randn({1, frames + 1, dim}) * 0.01);
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  attention_ = register_module("attention", torch::nn::MultiheadAttention(dim, heads));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, 4 * dim));
  fc2_ = register_module("fc2", torch::nn::Linear(4 * dim, dim));
}

torch::Tensor TemporalPoolingImpl::forward(const torch::Tensor& x) const {
  if (kind_ == config::ModelConfig::mean) return x.mean(1);
  const int64_t B = x.size(0), T = x.size(1);
  auto h =
      torch::cat({class_token_.expand({B, 1, x.size(2)}), x}, 1) + positions_.narrow(1, 0, T + 1);
  auto q = ln1_->forward(h).transpose(0, 1);  // MultiheadAttention wants [T, B, E].
  h = h + std::get<0>(attention_->forward(q, q, q)).transpose(0, 1);
  h = h + fc2_->forward(torch::gelu(fc1_->forward(ln2_->forward(h))));
  return h.select(1, 0);
}

}  // namespace hesp::model
