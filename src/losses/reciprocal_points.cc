#include "losses/reciprocal_points.h"

#include <glog/logging.h>

namespace hesp::losses {
namespace {

void check_shapes(const torch::Tensor& features, const torch::Tensor& points) {
  CHECK_EQ(features.dim(), 2) << "features must be [batch, E]";
  CHECK_EQ(points.dim(), 2) << "negative prompt features must be [K, E]";
  CHECK_EQ(features.size(1), points.size(1)) << "features and points disagree on E";
}

}  // namespace

torch::Tensor mean_squared_distance(const torch::Tensor& features, const torch::Tensor& points) {
  check_shapes(features, points);
  return (features.unsqueeze(1) - points.unsqueeze(0)).pow(2).mean(/*dim=*/2);
}

torch::Tensor arpl_neg_logits(const torch::Tensor& features, const torch::Tensor& points) {
  return mean_squared_distance(features, points) - features.matmul(points.t());
}

torch::Tensor euclidean_neg_logits(const torch::Tensor& features, const torch::Tensor& points) {
  return mean_squared_distance(features, points);
}

torch::Tensor neg_logits(const torch::Tensor& features, const torch::Tensor& points,
                         NegLogits kind) {
  return kind == NegLogits::kArpl ? arpl_neg_logits(features, points)
                                  : euclidean_neg_logits(features, points);
}

torch::Tensor margin_loss(const torch::Tensor& features, const torch::Tensor& points,
                          const torch::Tensor& labels, const torch::Tensor& radius) {
  check_shapes(features, points);
  CHECK_EQ(labels.dim(), 1);
  CHECK_EQ(labels.size(0), features.size(0)) << "one label per feature row";
  CHECK_EQ(radius.numel(), 1) << "R must be a scalar";
  const torch::Tensor own_points = points.index_select(0, labels.to(torch::kLong));
  const torch::Tensor distance = (features - own_points).pow(2).mean(/*dim=*/1);
  return torch::relu(distance - radius.reshape({}) + 1.0).mean();
}

}  // namespace hesp::losses
