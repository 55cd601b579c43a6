// train.activation_checkpointing: the HESP step with the image tower's blocks checkpointed
// gives the same losses and gradients, bit for bit, as the plain step in fp32 (CPU), for
// every learnable tensor, over two steps (so a second backward through the recomputation
// also matches); and the switch reaches only the image tower.
#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "model_test_util.h"

namespace hesp::model {
namespace {

using testing::tiny_experiment;
using testing::tokenizer;

const std::vector<std::string> kClasses{"happy", "sad", "anger_disgust"};

struct StepResult {
  std::vector<double> losses;                  // total, then each term, per step
  std::map<std::string, torch::Tensor> grads;  // of the last step
};

StepResult two_steps(bool checkpointing) {
  auto clip = clip::ClipModel::load(testing::fixture("tiny_clip_a.safetensors"));
  clip->set_activation_checkpointing(checkpointing);
  const auto exp = tiny_experiment();
  torch::manual_seed(0);
  HespModel m = testing::make_model(exp, clip, tokenizer(), kClasses);
  {
    torch::NoGradGuard g;  // A generic point: every loss term and path is active.
    for (auto& [name, t] : m->learnable()) {
      if (name == "visual_prompt.delta") t.copy_(torch::randn_like(t) * 0.1);
      if (name == "radius") t.fill_(0.5);
    }
  }
  torch::manual_seed(5);
  const auto frames = torch::rand({4, 2, 3, 64, 64});
  const auto centers = torch::tensor({{20, 20}, {40, 30}, {8, 60}, {32, 32}}, torch::kLong);
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kLong);
  comm::SingleCommunicator single;
  StepResult r;
  for (int step = 0; step < 2; ++step) {
    for (auto& [name, t] : m->learnable()) {
      if (t.grad().defined()) t.mutable_grad().zero_();
    }
    const auto loss = hesp_loss(exp, *m, m->forward(frames, centers), labels, single);
    loss.total.backward();
    r.losses.push_back(loss.total.item<double>());
    for (const auto& [k, v] : loss.terms) r.losses.push_back(v);
    torch::NoGradGuard g;
    for (auto& [name, t] : m->learnable()) {
      r.grads[name] = t.grad().clone();
      t.sub_(0.01 * t.grad());  // Move, so that the second step sees other values.
    }
  }
  return r;
}

TEST(ActivationCheckpointing, SameLossesAndGradientsBitForBit) {
  const auto plain = two_steps(false);
  const auto checkpointed = two_steps(true);
  ASSERT_EQ(plain.losses.size(), checkpointed.losses.size());
  for (size_t i = 0; i < plain.losses.size(); ++i) {
    EXPECT_EQ(plain.losses[i], checkpointed.losses[i]) << "loss entry " << i;
  }
  ASSERT_EQ(plain.grads.size(), 4u);
  for (const auto& [name, g] : plain.grads) {
    ASSERT_TRUE(checkpointed.grads.count(name)) << name;
    EXPECT_GT(g.abs().sum().item<double>(), 0) << name;
    EXPECT_TRUE(torch::equal(g, checkpointed.grads.at(name))) << name;
  }
}

TEST(ActivationCheckpointing, OnlyTheImageTowerAndOnlyWithAGradient) {
  auto clip = clip::ClipModel::load(testing::fixture("tiny_clip_a.safetensors"));
  EXPECT_FALSE(clip->activation_checkpointing());  // Off by default.
  clip->set_activation_checkpointing(true);
  EXPECT_TRUE(clip->visual->transformer->checkpoint_blocks);
  EXPECT_FALSE(clip->transformer->checkpoint_blocks);
  // Pixels that need a gradient: the blocks' outputs hang off the checkpoint node.
  auto x = torch::rand({2, 3, 64, 64}).requires_grad_(true);
  const auto y = clip->visual_tokens(x);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("CheckpointedBlock"), std::string::npos)
      << y.grad_fn()->name();
  // No gradient wanted (evaluation, Grad-CAM's frozen trunk): the plain blocks run.
  const auto z = clip->visual_tokens(x.detach());
  EXPECT_FALSE(z.requires_grad());
  EXPECT_TRUE(torch::equal(y.detach(), z));
}

// A weight that requires grad (not the case in HESP, where CLIP is frozen) still gets
// the plain graph's gradient through the recomputation.
TEST(ActivationCheckpointing, WeightGradientsMatchTooWhenWeightsLearn) {
  auto grads = [](bool checkpointing) {
    auto clip = clip::ClipModel::load(testing::fixture("tiny_clip_a.safetensors"));
    clip->set_activation_checkpointing(checkpointing);
    auto& w = clip->visual->transformer->blocks[0]->mlp->c_fc->weight;
    w.set_requires_grad(true);
    torch::manual_seed(3);
    auto x = torch::rand({2, 3, 64, 64}).requires_grad_(true);
    clip->encode_image(x).pow(2).sum().backward();
    return std::make_pair(x.grad().clone(), w.grad().clone());
  };
  const auto [x_plain, w_plain] = grads(false);
  const auto [x_ckpt, w_ckpt] = grads(true);
  EXPECT_TRUE(torch::equal(x_plain, x_ckpt));
  EXPECT_TRUE(torch::equal(w_plain, w_ckpt));
}

}  // namespace
}  // namespace hesp::model
