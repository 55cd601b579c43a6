#include "losses/neg_clip.h"

#include <glog/logging.h>

namespace hesp::losses {

namespace F = torch::nn::functional;

torch::Tensor neg_clip_loss(const torch::Tensor& image_features, const torch::Tensor& text_features,
                            double scale, bool symmetric) {
  CHECK_EQ(image_features.dim(), 2);
  CHECK(image_features.sizes() == text_features.sizes())
      << "one text feature per negative image: " << image_features.sizes() << " vs "
      << text_features.sizes();
  const auto image = F::normalize(image_features, F::NormalizeFuncOptions().dim(1));
  const auto text = F::normalize(text_features, F::NormalizeFuncOptions().dim(1));
  const torch::Tensor logits = scale * image.matmul(text.t());
  const torch::Tensor targets = torch::arange(
      logits.size(0), torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
  torch::Tensor loss = F::cross_entropy(logits, targets);
  if (symmetric) loss = loss + F::cross_entropy(logits.t(), targets);
  return loss;
}

}  // namespace hesp::losses
