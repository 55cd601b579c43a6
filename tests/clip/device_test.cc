// The CLIP towers on the training device against the reference outputs
// (tiny_clip_a.reference.h5): fp32 on CUDA within the CPU tests' 1e-4, and bf16 autocast
// within a stated scale-relative tolerance, on CUDA where there is one and through CPU
// autocast here (the same lower-precision matmuls, so the tolerance is checked on every
// machine). The fp32 CUDA case is skipped without a GPU or with a CPU-only LibTorch.
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "clip/weights/h5_file.h"
#include "clip_test_util.h"
#include "util/torch_compat.h"

namespace hesp::clip {
namespace {

using testing::all_close;
using testing::fixture;

// bf16 keeps 8 significand bits (relative rounding 2^-9 = 2e-3 per operation). Through the
// tiny model's 2 + 2 blocks the features land within ~1e-2 of the largest entry (measured:
// docs/performance.md); 5e-2 of max|reference| leaves a margin while still catching a
// wrong kernel or a tensor left in bf16 where fp32 is needed (errors of order 1).
constexpr double kBf16ScaleTol = 5e-2;

struct Reference {
  torch::Tensor images, tokens, image_features, text_features, logits;
};

const Reference& reference() {
  static const Reference r = [] {
    auto f = H5File::open_read(fixture("tiny_clip_a.reference.h5"));
    return Reference{f.read_float("images"), f.read_int64("tokens"), f.read_float("image_features"),
                     f.read_float("text_features"), f.read_float("logits_per_image")};
  }();
  return r;
}

// max|a - b| / max|b|, in double.
double scale_rel(const torch::Tensor& a, const torch::Tensor& b) {
  const auto bd = b.detach().to(torch::kDouble);
  return (a.detach().cpu().to(torch::kDouble) - bd).abs().max().item<double>() /
         bd.abs().max().item<double>();
}

struct Outputs {
  torch::Tensor image_features, text_features, logits;
};

Outputs run(const ClipModel& m, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const auto& r = reference();
  auto img = m.encode_image(r.images.to(device));
  auto txt = m.encode_text(r.tokens.to(device));
  auto logits = m.logits_per_image(img, txt);
  return {img.cpu().to(torch::kFloat), txt.cpu().to(torch::kFloat), logits.cpu().to(torch::kFloat)};
}

TEST(ClipOnDevice, Fp32OnCudaMatchesReference) {
  if (!compat::torch_has_cuda() || compat::cuda_device_count() == 0) {
    GTEST_SKIP() << "no CUDA device or a CPU-only LibTorch: the CUDA case is not exercised";
  }
  auto m = ClipModel::load(fixture("tiny_clip_a.safetensors"));
  const torch::Device cuda(torch::kCUDA, 0);
  m->to(cuda);
  const auto out = run(*m, cuda);
  const auto& r = reference();
  EXPECT_TRUE(all_close(out.image_features, r.image_features, 1e-4, 1e-4));
  EXPECT_TRUE(all_close(out.text_features, r.text_features, 1e-4, 1e-4));
  EXPECT_TRUE(all_close(out.logits, r.logits, 1e-4, 1e-4));
}

TEST(ClipOnDevice, Bf16AutocastWithinStatedTolerance) {
  auto m = ClipModel::load(fixture("tiny_clip_a.safetensors"));
  const bool cuda = compat::torch_has_cuda() && compat::cuda_device_count() > 0;
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  m->to(device);
  compat::AutocastState bf16;
  bf16.cpu_enabled = !cuda;
  bf16.cuda_enabled = cuda;
  bf16.cpu_dtype = bf16.cuda_dtype = torch::kBFloat16;
  Outputs out;
  {
    compat::AutocastScope scope(bf16);
    out = run(*m, device);
  }
  const auto& r = reference();
  const double img = scale_rel(out.image_features, r.image_features);
  const double txt = scale_rel(out.text_features, r.text_features);
  const double lg = scale_rel(out.logits, r.logits);
  std::cout << "bf16 autocast on " << device.str() << ": max|a-b|/max|b| image " << img << ", text "
            << txt << ", logits " << lg << std::endl;
  EXPECT_LE(img, kBf16ScaleTol);
  EXPECT_LE(txt, kBf16ScaleTol);
  EXPECT_LE(lg, kBf16ScaleTol);
  // And it did run in lower precision: bf16 is not bit-equal to fp32.
  EXPECT_GT(img + txt, 0.0);
  // The scope restored the thread's settings.
  EXPECT_FALSE(compat::autocast_state().cpu_enabled);
  EXPECT_FALSE(compat::autocast_state().cuda_enabled);
}

}  // namespace
}  // namespace hesp::clip
