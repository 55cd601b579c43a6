// The normalised-gradient step of spec §8 (default on): delta moves by exactly eta in L2,
// each negative image likewise (per_image), `mean` mode gives all K images the same update
// (the reference's), and the trainer's order (normalised step, then SGD) on the real model.
#include <gtest/gtest.h>

#include "../model/model_test_util.h"
#include "comm/communicator.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "optim/sgd.h"

namespace hesp::train {
namespace {

// delta [3, s, s] and N [K, 3, S, S] with random gradients.
std::pair<torch::Tensor, torch::Tensor> tensors_with_grads(int64_t K) {
  torch::manual_seed(3);
  auto delta = torch::randn({3, 8, 8}).requires_grad_(true);
  auto images = torch::randn({K, 3, 16, 16}).requires_grad_(true);
  delta.mutable_grad() = torch::randn({3, 8, 8});
  images.mutable_grad() = torch::randn({K, 3, 16, 16}) * torch::arange(1, K + 1).view({K, 1, 1, 1});
  return {delta, images};
}

TEST(NormalizedStep, PerImageMovesDeltaAndEachImageByEta) {
  auto [delta, images] = tensors_with_grads(4);
  const auto d0 = delta.detach().clone(), n0 = images.detach().clone();
  optim::normalized_gradient_step(delta, images, 50.0, optim::NormalizedStepMode::kPerImage);
  const auto dd = delta.detach() - d0;
  EXPECT_NEAR(dd.norm().item<double>(), 50.0, 50.0 * 1e-6);
  // Against the gradient: the step is -eta g / |g|.
  const auto g = delta.grad();
  EXPECT_TRUE(torch::allclose(dd, -50.0 * g / g.norm(), 1e-5, 1e-5));
  for (int64_t k = 0; k < 4; ++k) {
    const auto step = images.detach()[k] - n0[k];
    EXPECT_NEAR(step.norm().item<double>(), 50.0, 50.0 * 1e-6) << k;
    const auto gk = images.grad()[k];
    EXPECT_TRUE(torch::allclose(step, -50.0 * gk / gk.norm(), 1e-5, 1e-5)) << k;
  }
}

TEST(NormalizedStep, MeanModeGivesEveryImageTheSameUpdate) {
  auto [delta, images] = tensors_with_grads(3);
  const auto d0 = delta.detach().clone(), n0 = images.detach().clone();
  optim::normalized_gradient_step(delta, images, 50.0, optim::NormalizedStepMode::kMean);
  const auto m = images.grad().mean(0);
  for (int64_t k = 0; k < 3; ++k) {
    const auto step = images.detach()[k] - n0[k];
    EXPECT_TRUE(torch::allclose(step, -50.0 * m / m.norm(), 1e-5, 1e-5)) << k;
  }
  // delta is one tensor: both modes step it the same way.
  EXPECT_NEAR((delta.detach() - d0).norm().item<double>(), 50.0, 50.0 * 1e-6);
}

TEST(NormalizedStep, ConfigDefaultsAndSwitches) {
  const config::OptimConfig defaults;
  EXPECT_TRUE(defaults.normalized_step());
  EXPECT_EQ(defaults.normalized_step_size(), 50.0f);
  EXPECT_EQ(defaults.normalized_step_mode(), config::OptimConfig::per_image);
  auto [delta, images] = tensors_with_grads(2);
  const auto d0 = delta.detach().clone(), n0 = images.detach().clone();
  config::OptimConfig off;
  off.set_normalized_step(false);
  optim::apply_normalized_step(off, delta, images);
  EXPECT_TRUE(torch::equal(delta.detach(), d0));
  EXPECT_TRUE(torch::equal(images.detach(), n0));
  config::OptimConfig mean;
  mean.set_normalized_step_mode(config::OptimConfig::mean);
  mean.set_normalized_step_size(2.0f);
  optim::apply_normalized_step(mean, delta, images);
  EXPECT_TRUE(torch::allclose(images.detach()[0] - n0[0], images.detach()[1] - n0[1], 1e-4, 1e-5));
  EXPECT_NEAR((images.detach()[0] - n0[0]).norm().item<double>(), 2.0, 2e-6);
}

// One training step of the default `hesp` on the tiny CLIP, in the trainer's order:
// delta moves by eta in L2 plus exactly the SGD term, and so does every negative image.
TEST(NormalizedStep, DefaultHespStepMovesThePromptsByEtaPlusSgd) {
  for (auto method : {config::hesp, config::hesp_b1}) {
    SCOPED_TRACE(config::Method_Name(method));
    auto exp = model::testing::tiny_experiment(method);
    ASSERT_TRUE(exp.optim().normalized_step());  // On by default for hesp and hesp_b1.
    torch::manual_seed(0);
    model::HespModel m =
        model::testing::make_model(exp, model::testing::tiny_clip(), model::testing::tokenizer(),
                                   std::vector<std::string>{"happy", "sad", "surprise"});
    optim::Sgd sgd(m->learnable(), exp.optim().momentum(), exp.optim().weight_decay());
    const double lr = 0.01, wd = exp.optim().weight_decay(), eta = 50.0;
    sgd.set_lr(lr);
    const auto frames = torch::rand({3, 2, 3, 64, 64});
    const auto centers = torch::full({3, 2}, 32, torch::kLong);
    const auto labels = torch::tensor({0, 1, 1}, torch::kLong);
    comm::SingleCommunicator single;
    sgd.zero_grad();
    model::hesp_loss(exp, *m, m->forward(frames, centers), labels, single).total.backward();
    const auto d0 = m->delta().detach().clone(), n0 = m->negative_images().detach().clone();
    const auto gd = m->delta().grad().clone(), gn = m->negative_images().grad().clone();
    optim::apply_normalized_step(exp.optim(), m->delta(), m->negative_images());
    sgd.step();
    // First SGD step: buf = g + wd p, p -= lr buf (p after the normalised step).
    const auto d_half = d0 - eta * gd / gd.norm();
    const auto sgd_delta = lr * (gd + wd * d_half);
    EXPECT_TRUE(torch::allclose(m->delta().detach(), d_half - sgd_delta, 1e-5, 1e-6));
    EXPECT_NEAR((m->delta().detach() + sgd_delta - d0).norm().item<double>(), eta, eta * 1e-5);
    for (int64_t k = 0; k < 3; ++k) {
      const auto gk = gn[k];
      const auto half = n0[k] - eta * gk / gk.norm();
      const auto sgd_k = lr * (gk + wd * half);
      EXPECT_NEAR((m->negative_images().detach()[k] + sgd_k - n0[k]).norm().item<double>(), eta,
                  eta * 1e-5)
          << k;
    }
  }
}

}  // namespace
}  // namespace hesp::train
