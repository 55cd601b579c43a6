#pragma once
// Negative logits against the negative visual prompts (ARPL reciprocal points, spec §6)
// and the margin term of L_NE (spec §7).
#include <torch/torch.h>

namespace hesp::losses {

enum class NegLogits {
  kArpl,       // ||F_V - F_neg_k||^2 / d - F_V . F_neg_k  (default)
  kEuclidean,  // ||F_V - F_neg_k||^2 / d                  (paper Eq. 11)
};

// ||F_V_b - F_neg_k||^2 / d with d = E, [B, E] x [K, E] -> [B, K]. Computed from the
// differences rather than |a|^2 - 2ab + |b|^2, which cancels badly when F_V is near a point.
torch::Tensor mean_squared_distance(const torch::Tensor& features, const torch::Tensor& points);

torch::Tensor arpl_neg_logits(const torch::Tensor& features, const torch::Tensor& points);
torch::Tensor euclidean_neg_logits(const torch::Tensor& features, const torch::Tensor& points);
torch::Tensor neg_logits(const torch::Tensor& features, const torch::Tensor& points,
                         NegLogits kind);

// mean_b max(0, ||F_V_b - F_neg[y_b]||^2 / d - R + 1); R is a learnable scalar tensor.
torch::Tensor margin_loss(const torch::Tensor& features, const torch::Tensor& points,
                          const torch::Tensor& labels, const torch::Tensor& radius);

}  // namespace hesp::losses
