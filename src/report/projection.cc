#include "report/projection.h"

#include <glog/logging.h>

namespace hesp::report {

torch::Tensor pca_2d(const torch::Tensor& x) {
  CHECK_EQ(x.dim(), 2) << "features must be [N, E]";
  const auto centred = x.to(torch::kFloat64) - x.to(torch::kFloat64).mean(0, true);
  auto out = torch::zeros({x.size(0), 2}, torch::kFloat64);
  if (x.size(0) < 1 || x.size(1) < 1) return out;
  const auto [u, s, vh] = torch::linalg_svd(centred, /*full_matrices=*/false);
  const int64_t k = std::min<int64_t>(2, vh.size(0));
  auto proj = torch::matmul(centred, vh.narrow(0, 0, k).t());  // [N, k]
  for (int64_t j = 0; j < k; ++j) {
    auto col = proj.select(1, j);
    const auto at = col.abs().argmax();
    if (col[at.item<int64_t>()].item<double>() < 0) col.neg_();
  }
  out.narrow(1, 0, k).copy_(proj);
  return out;
}

}  // namespace hesp::report
