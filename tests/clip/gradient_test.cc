// Finite-difference checks of the gradients the method relies on: d(output)/d(pixels)
// (visual prompt, Grad-CAM) and d(output)/d(context embeddings) (learnable prompts), on a
// float64 copy of the tiny fixture model so central differences are accurate.
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "clip/weights/h5_file.h"
#include "clip_test_util.h"

namespace hesp::clip {
namespace {

using testing::fixture;

class GradientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = ClipModel::load(fixture("tiny_clip_a.safetensors"));
    model_->to(torch::kDouble);
    auto ref = H5File::open_read(fixture("tiny_clip_a.reference.h5"));
    images_ = ref.read_float("images").to(torch::kDouble);
    tokens_ = ref.read_int64("tokens");
  }

  // Checks analytic d f / d input against central differences at `coords` (flat indices).
  void check(const std::function<torch::Tensor(const torch::Tensor&)>& f, torch::Tensor input,
             const std::vector<int64_t>& coords) {
    auto x = input.clone().requires_grad_(true);
    f(x).backward();
    auto grad = x.grad().reshape(-1);
    const double eps = 1e-6;
    torch::NoGradGuard no_grad;
    for (int64_t c : coords) {
      auto plus = input.clone(), minus = input.clone();
      plus.view(-1)[c] += eps;
      minus.view(-1)[c] -= eps;
      const double numeric = (f(plus).item<double>() - f(minus).item<double>()) / (2 * eps);
      const double analytic = grad[c].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << "coordinate " << c;
    }
  }

  std::shared_ptr<ClipModel> model_;
  torch::Tensor images_, tokens_;
};

TEST_F(GradientTest, ImageFeaturesWithRespectToPixels) {
  auto x = images_.index({torch::indexing::Slice(0, 2)});
  auto weights = torch::randn({2, 64}, torch::TensorOptions().dtype(torch::kDouble));
  auto f = [&](const torch::Tensor& in) { return (model_->encode_image(in) * weights).sum(); };
  std::vector<int64_t> coords;
  auto gen = at::detail::createCPUGenerator(7);
  for (int i = 0; i < 12; ++i)
    coords.push_back(torch::randint(x.numel(), {1}, gen).item<int64_t>());
  check(f, x, coords);
}

TEST_F(GradientTest, GradCamLogitWithRespectToLastBlockTokens) {
  auto x = images_.index({torch::indexing::Slice(0, 1)});
  torch::Tensor tokens;
  {
    torch::NoGradGuard no_grad;
    tokens = model_->visual_tokens_before_last_block(x);
  }
  auto text = torch::randn({64}, torch::TensorOptions().dtype(torch::kDouble));
  auto f = [&](const torch::Tensor& t) {
    return (model_->finish_image_from_last_block(t).squeeze(0) * text).sum();
  };
  check(f, tokens, {0, 5, 130, 1000, 2000, 17 * 128 - 1});
}

TEST_F(GradientTest, TextFeaturesWithRespectToContextEmbeddings) {
  auto tokens = tokens_.index({torch::indexing::Slice(0, 3)});
  auto eot = tokens.argmax(-1);
  torch::Tensor emb;
  {
    torch::NoGradGuard no_grad;
    emb = model_->token_embedding(tokens);
  }
  auto weights = torch::randn({3, 64}, torch::TensorOptions().dtype(torch::kDouble));
  for (bool cut : {true, false}) {
    auto f = [&](const torch::Tensor& e) {
      return (model_->encode_text_embeddings(e, eot, cut) * weights).sum();
    };
    // Positions 1..4 play the learnable context vectors; also the EOT row itself.
    const int64_t d = 64, len = 77;
    std::vector<int64_t> coords = {1 * d + 3,
                                   2 * d + 10,
                                   4 * d + 63,
                                   len * d + 1 * d + 7,
                                   eot[0].item<int64_t>() * d + 5,
                                   2 * len * d + eot[2].item<int64_t>() * d};
    check(f, emb, coords);
  }
  // Causality: positions after a row's EOT get exactly zero gradient.
  auto e = emb.clone().requires_grad_(true);
  (model_->encode_text_embeddings(e, eot, false) * weights).sum().backward();
  const int64_t after = eot[0].item<int64_t>() + 1;
  EXPECT_EQ(e.grad()[0].narrow(0, after, 77 - after).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace hesp::clip
