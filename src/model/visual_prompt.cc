#include "model/visual_prompt.h"

#include <glog/logging.h>

#include <algorithm>

namespace hesp::model {

std::pair<int64_t, int64_t> box_top_left(int64_t row, int64_t col, int64_t s, int64_t image) {
  CHECK_LE(s, image) << "prompt larger than the image (config validation should catch this)";
  const int64_t lo = s / 2, hi = image - 1 - s / 2;
  // When s == image the clamp range collapses; the box then covers the image.
  const int64_t r = hi >= lo ? std::clamp(row, lo, hi) : lo;
  const int64_t c = hi >= lo ? std::clamp(col, lo, hi) : lo;
  return {std::max<int64_t>(0, r - s / 2), std::max<int64_t>(0, c - s / 2)};
}

VisualPromptImpl::VisualPromptImpl(int64_t size, config::VisualPromptConfig::Fusion fusion)
    : size_(size), fusion_(fusion) {
  delta = register_parameter("delta", torch::zeros({3, size, size}));
}

torch::Tensor VisualPromptImpl::per_clip_copies(int64_t batch) const {
  return delta.unsqueeze(0).repeat({batch, 1, 1, 1});
}

torch::Tensor VisualPromptImpl::forward(const torch::Tensor& frames,
                                        const torch::Tensor& centers) const {
  return forward(frames, centers, per_clip_copies(frames.size(0)));
}

torch::Tensor VisualPromptImpl::forward(const torch::Tensor& frames, const torch::Tensor& centers,
                                        const torch::Tensor& copies) const {
  CHECK_EQ(frames.dim(), 5) << "frames must be [B, T, 3, S, S]";
  CHECK_EQ(centers.size(0), frames.size(0));
  CHECK_EQ(copies.size(0), frames.size(0)) << "one copy of delta per clip";
  const int64_t B = frames.size(0), S = frames.size(3);
  const auto c = centers.to(torch::kCPU, torch::kLong);
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<size_t>(B));
  using torch::indexing::Slice;
  for (int64_t b = 0; b < B; ++b) {
    const auto [top, left] =
        box_top_left(c[b][0].item<int64_t>(), c[b][1].item<int64_t>(), size_, S);
    // pad_c(delta): the perturbation placed in an S x S canvas of zeros. Building it with
    // constant_pad_nd keeps the op differentiable w.r.t. delta.
    const auto padded = torch::constant_pad_nd(
        copies[b], {left, S - left - size_, top, S - top - size_}, 0.0);  // [3, S, S]
    if (fusion_ == config::VisualPromptConfig::add) {
      out.push_back(frames[b] + padded);
    } else {
      auto mask = torch::zeros({1, S, S}, frames.options());
      mask.index_put_({Slice(), Slice(top, top + size_), Slice(left, left + size_)}, 1.0);
      out.push_back(frames[b] * (1 - mask) + padded * mask);
    }
  }
  return torch::stack(out);
}

}  // namespace hesp::model
