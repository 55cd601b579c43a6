#include "model/padding_prompt.h"

#include <glog/logging.h>

namespace hesp::model {

PaddingPromptImpl::PaddingPromptImpl(int64_t width, int64_t image,
                                     config::VisualPromptConfig::Fusion fusion)
    : fusion_(fusion) {
  CHECK_GE(width, 1);
  CHECK_LT(2 * width, image) << "padding wider than half the image (validation checks this)";
  using torch::indexing::Slice;
  auto mask = torch::ones({1, image, image});
  mask.index_put_({Slice(), Slice(width, image - width), Slice(width, image - width)}, 0.0);
  mask_ = register_buffer("mask", mask);
  delta = register_parameter("delta", torch::zeros({3, image, image}));
}

torch::Tensor PaddingPromptImpl::forward(const torch::Tensor& frames) const {
  CHECK_EQ(frames.dim(), 5) << "frames must be [B, T, 3, S, S]";
  CHECK_EQ(frames.size(3), delta.size(1));
  const auto border = delta * mask_;  // [3, S, S], broadcast over B and T.
  if (fusion_ == config::VisualPromptConfig::add) return frames + border;
  return frames * (1 - mask_) + border;
}

}  // namespace hesp::model
