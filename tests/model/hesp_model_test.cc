// The HESP model on the tiny fixture CLIP: prompt construction, the methods' outputs,
// finite-difference gradients of the total loss for delta, the contexts, the negative
// images and R, and a frozen CLIP.
#include <gtest/gtest.h>

#include <set>

#include "comm/communicator.h"
#include "config/method_traits.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "model_test_util.h"

namespace hesp::model {
namespace {

using testing::tiny_clip;
using testing::tiny_experiment;
using testing::tokenizer;

const std::vector<std::string> kClasses{"happy", "sad", "anger_disgust"};

TEST(TextPrompts, ContextsSpliceIntoTheTokenSequence) {
  auto clip = tiny_clip();
  TextPrompts prompts(*clip, tokenizer(), kClasses, 4, /*class_specific=*/true, 0.02);
  // With every context set to the embedding of the word "x", the prompt must equal the
  // tokenised text "x x x x <name>." exactly, and so must its features.
  const auto x_id = tokenizer().encode("x");
  ASSERT_EQ(x_id.size(), 1u);
  const auto x_emb = clip->token_embedding(torch::tensor({x_id[0]}).view({1, 1})).view({1, 1, -1});
  {
    torch::NoGradGuard g;
    prompts->contexts.copy_(x_emb.expand_as(prompts->contexts));
  }
  const auto tokens =
      tokenizer().tokenize({"x x x x happy.", "x x x x sad.", "x x x x anger disgust."});
  const auto want = clip->token_embedding(tokens);
  EXPECT_TRUE(torch::allclose(prompts->prompt_embeddings(), want, 0, 0));
  const auto eot = std::get<1>(tokens.max(1));
  EXPECT_TRUE(torch::equal(prompts->eot_index(), eot));
  EXPECT_TRUE(
      torch::allclose(prompts->forward(*clip, true), clip->encode_text(tokens, false), 1e-5, 1e-5));
}

TEST(TextPrompts, SharedContextsAreOneSet) {
  TextPrompts prompts(*tiny_clip(), tokenizer(), kClasses, 16, /*class_specific=*/false, 0.02);
  EXPECT_EQ(prompts->contexts.size(0), 1);
  EXPECT_EQ(prompts->contexts.size(1), 16);
  EXPECT_NEAR(prompts->contexts.std().item<double>(), 0.02, 0.004);
}

Outputs run(const HespModel& m, int64_t batch, uint64_t seed) {
  torch::manual_seed(seed);
  const auto frames = torch::rand({batch, 2, 3, 64, 64}, m->clip().logit_scale().options());
  const auto centers = torch::randint(0, 64, {batch, 2}, torch::kLong);
  return m->forward(frames, centers);
}

TEST(HespModel, MethodsProduceTheirBranches) {
  auto clip = tiny_clip();
  for (auto method : {config::hesp, config::hesp_b1, config::clip_arpl, config::clip_zeroshot}) {
    torch::manual_seed(0);
    HespModel m = testing::make_model(tiny_experiment(method), clip, tokenizer(), kClasses);
    const auto out = run(m, 3, 1);
    EXPECT_EQ(out.video_features.sizes(), (std::vector<int64_t>{3, 64}));
    EXPECT_EQ(out.combined_logits.sizes(), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(out.known_logits.defined(), method != config::clip_arpl) << method;
    EXPECT_EQ(out.negative_logits.defined(), method != config::clip_zeroshot) << method;
    EXPECT_EQ(m->learnable().empty(), !config::method_traits(method).trains) << method;
    EXPECT_EQ(m->uses_visual_prompt(), method == config::hesp || method == config::hesp_b1);
    if (method == config::hesp || method == config::hesp_b1) {
      // l_k = |F_V - F_neg_k|^2 / d (- F_V . F_neg_k for arpl), by explicit loops.
      const auto& f = out.video_features;
      const auto& n = out.negative_image_features;
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t k = 0; k < 3; ++k) {
          double d2 = 0, dot = 0;
          for (int64_t e = 0; e < 64; ++e) {
            const double x = f[b][e].item<double>(), y = n[k][e].item<double>();
            d2 += (x - y) * (x - y);
            dot += x * y;
          }
          const double want = d2 / 64 - (method == config::hesp ? dot : 0.0);
          EXPECT_NEAR(out.negative_logits[b][k].item<double>(), want, 1e-3 * (1 + std::abs(want)));
        }
      const auto combined = (out.known_logits + out.negative_logits) / 2;
      EXPECT_TRUE(torch::allclose(out.combined_logits, combined));
    }
  }
}

TEST(HespModel, ClipStaysFrozenAndPromptsLearn) {
  auto clip = tiny_clip();
  torch::manual_seed(0);
  HespModel m = testing::make_model(tiny_experiment(), clip, tokenizer(), kClasses);
  const auto out = run(m, 4, 2);
  comm::SingleCommunicator single;
  const auto labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
  hesp_loss(tiny_experiment(), *m, out, labels, single).total.backward();
  for (const auto& p : clip->parameters()) {
    EXPECT_FALSE(p.requires_grad());
    EXPECT_FALSE(p.grad().defined());
  }
  std::set<std::string> names;
  for (const auto& [name, t] : m->learnable()) {
    names.insert(name);
    ASSERT_TRUE(t.grad().defined()) << name;
    EXPECT_GT(t.grad().abs().sum().item<double>(), 0) << name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"visual_prompt.delta", "text_prompts.contexts",
                                          "negative_images", "radius"}));
}

// Central differences in double precision against autograd for a few coordinates of each
// learnable tensor.
TEST(HespModel, FiniteDifferenceGradients) {
  auto clip = clip::ClipModel::load(testing::fixture("tiny_clip_a.safetensors"));
  clip->to(torch::kFloat64);
  auto exp = tiny_experiment();
  torch::manual_seed(0);
  HespModel m = testing::make_model(exp, clip, tokenizer(), kClasses);
  m->to(torch::kFloat64);
  {
    // Non-zero delta and a radius where the margin is active, so every path matters.
    torch::NoGradGuard g;
    for (auto& [name, t] : m->learnable()) {
      if (name == "visual_prompt.delta") t.copy_(torch::randn_like(t) * 0.1);
      if (name == "radius") t.fill_(0.5);
    }
  }
  torch::manual_seed(5);
  const auto frames = torch::rand({4, 2, 3, 64, 64}, torch::kFloat64);
  const auto centers = torch::tensor({{20, 20}, {40, 30}, {8, 60}, {32, 32}}, torch::kLong);
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kLong);
  comm::SingleCommunicator single;
  auto loss = [&] { return hesp_loss(exp, *m, m->forward(frames, centers), labels, single).total; };
  for (auto& [name, t] : m->learnable()) {
    if (t.grad().defined()) t.mutable_grad().zero_();
  }
  loss().backward();
  for (auto& [name, t] : m->learnable()) {
    const auto flat_grad = t.grad().flatten();
    const int64_t n = t.numel();
    for (int64_t probe = 0; probe < 3; ++probe) {
      const int64_t i = (probe * 7919 + 13) % n;
      const double h = 1e-5;
      double plus, minus;
      {
        torch::NoGradGuard g;
        t.view(-1)[i] += h;
        plus = loss().item<double>();
        t.view(-1)[i] -= 2 * h;
        minus = loss().item<double>();
        t.view(-1)[i] += h;
      }
      const double numeric = (plus - minus) / (2 * h);
      const double analytic = flat_grad[i].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-5 + 1e-4 * std::abs(numeric)) << name << "[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace hesp::model
