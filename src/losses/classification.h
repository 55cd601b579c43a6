#pragma once
// Cross-entropy terms of HESP (spec §7): CE on the known logits, CE on the negative
// logits, and the hybrid loss L_H on their combination.
#include <torch/torch.h>

namespace hesp::losses {

// Mean cross-entropy of [B, K] logits against labels [B].
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels);

enum class Combine {
  kLogits,  // softmax((s + l) / 2)              (reference, default)
  kProbs,   // (softmax(s) + softmax(l)) / 2      (paper Eq. 13)
};

// Log-probabilities [B, K] of the combined prediction of known logits s and negative
// logits l. kProbs is evaluated as logsumexp(log_softmax(s), log_softmax(l)) - log 2, which
// stays finite where a probability underflows.
torch::Tensor combined_log_probs(const torch::Tensor& s, const torch::Tensor& l, Combine combine);

// L_H: mean negative log-likelihood of the labels under combined_log_probs.
torch::Tensor hybrid_loss(const torch::Tensor& s, const torch::Tensor& l,
                          const torch::Tensor& labels, Combine combine);

}  // namespace hesp::losses
