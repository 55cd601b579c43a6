#include "losses/classification.h"

#include <glog/logging.h>

#include <cmath>

namespace hesp::losses {

namespace F = torch::nn::functional;

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  CHECK_EQ(logits.dim(), 2) << "logits must be [batch, K]";
  CHECK_EQ(labels.dim(), 1);
  CHECK_EQ(labels.size(0), logits.size(0)) << "one label per logit row";
  return F::cross_entropy(logits, labels.to(torch::kLong));
}

torch::Tensor combined_log_probs(const torch::Tensor& s, const torch::Tensor& l, Combine combine) {
  CHECK(s.sizes() == l.sizes()) << "known and negative logits disagree: " << s.sizes() << " vs "
                                << l.sizes();
  if (combine == Combine::kLogits) return torch::log_softmax((s + l) / 2.0, /*dim=*/1);
  const torch::Tensor both = torch::stack({torch::log_softmax(s, 1), torch::log_softmax(l, 1)});
  return torch::logsumexp(both, /*dim=*/0) - std::log(2.0);
}

torch::Tensor hybrid_loss(const torch::Tensor& s, const torch::Tensor& l,
                          const torch::Tensor& labels, Combine combine) {
  CHECK_EQ(labels.dim(), 1);
  CHECK_EQ(labels.size(0), s.size(0)) << "one label per logit row";
  return F::nll_loss(combined_log_probs(s, l, combine), labels.to(torch::kLong));
}

}  // namespace hesp::losses
