// The prompt types of the paper's Fig. 3: the padding visual prompt (a learnable border
// of width p; the interior of every frame untouched), the random_patch box (a seeded
// place per clip and epoch, inside the image, the same on a resumed run) and learnable
// negative text contexts (they start at the fixed negative prompts' features and learn).
#include <gtest/gtest.h>

#include "data/loader/loader.h"
#include "eval/cam_boxes.h"
#include "model/hesp_model.h"
#include "model/padding_prompt.h"
#include "model_test_util.h"

namespace hesp::model {
namespace {

using torch::indexing::Slice;

TEST(PaddingPrompt, ChangesOnlyTheBorderAndOnlyTheBorderLearns) {
  for (const auto fusion : {config::VisualPromptConfig::add, config::VisualPromptConfig::replace}) {
    PaddingPrompt p(3, 16, fusion);
    torch::NoGradGuard no_grad;
    p->delta.copy_(torch::rand({3, 16, 16}));
    const auto frames = torch::rand({2, 2, 3, 16, 16});
    const auto out = p->forward(frames);
    const auto inner = Slice(3, 13);
    EXPECT_TRUE(torch::equal(out.index({Slice(), Slice(), Slice(), inner, inner}),
                             frames.index({Slice(), Slice(), Slice(), inner, inner})));
    const auto border = out.index({Slice(), Slice(), Slice(), Slice(0, 3)});
    const auto want = fusion == config::VisualPromptConfig::add
                          ? frames.index({Slice(), Slice(), Slice(), Slice(0, 3)}) +
                                p->delta.index({Slice(), Slice(0, 3)})
                          : p->delta.index({Slice(), Slice(0, 3)}).expand_as(border);
    EXPECT_TRUE(torch::allclose(border, want));
  }
  PaddingPrompt p(3, 16, config::VisualPromptConfig::add);
  p->forward(torch::rand({1, 1, 3, 16, 16})).sum().backward();
  const auto g = p->delta.grad();
  EXPECT_EQ(g.index({Slice(), Slice(3, 13), Slice(3, 13)}).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(g.sum().item<double>(), 3.0 * (16 * 16 - 10 * 10));
}

TEST(PaddingPrompt, HespModelUsesItAndCheckpointsItsDelta) {
  auto exp = testing::tiny_experiment();
  exp.mutable_prompts()->mutable_visual()->set_box(config::VisualPromptConfig::padding);
  exp.mutable_prompts()->mutable_visual()->set_size(4);
  const std::vector<std::string> classes = {"happy", "sad"};
  HespModel m = testing::make_model(exp, testing::tiny_clip(), testing::tokenizer(), classes);
  EXPECT_TRUE(m->uses_visual_prompt());
  bool found = false;
  for (const auto& [name, t] : m->learnable()) {
    if (name == "padding_prompt.delta") found = t.sizes().equals({3, 64, 64});
    EXPECT_NE(name, "visual_prompt.delta");
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(m->delta().size(1), 64);  // The border prompt takes the normalised step.
}

TEST(RandomPatch, PlacesAreSeededPerClipAndEpochAndInsideTheImage) {
  auto exp = testing::tiny_experiment();
  exp.mutable_prompts()->mutable_visual()->set_box(config::VisualPromptConfig::random_patch);
  exp.mutable_train()->set_seed(5);
  CamCache cache;
  data::Batch batch;
  batch.clip_indices = torch::arange(32, torch::kLong);
  batch.clip_ids.resize(32);
  batch.position = {3, 0};
  const auto a = eval::training_batch_centers(exp, cache, batch);
  const auto again = eval::training_batch_centers(exp, cache, batch);
  EXPECT_TRUE(torch::equal(a, again));  // A resumed run draws the same places.
  // Inside the range box_top_left keeps (s = 16, S = 64): [8, 55].
  EXPECT_GE(a.min().item<int64_t>(), 8);
  EXPECT_LE(a.max().item<int64_t>(), 55);
  EXPECT_GT(std::get<0>(at::_unique(a.select(1, 0))).numel(), 8);  // Places vary by clip.
  batch.position = {4, 0};
  EXPECT_FALSE(torch::equal(a, eval::training_batch_centers(exp, cache, batch)));  // And epoch.
  // A clip's place does not depend on the batch it is in.
  data::Batch one = batch;
  one.position = {3, 0};
  one.clip_indices = torch::tensor({17}, torch::kLong);
  one.clip_ids.resize(1);
  EXPECT_TRUE(torch::equal(eval::training_batch_centers(exp, cache, one)[0], a[17]));
  // Evaluation: the image centre.
  const auto eval = eval::batch_centers(exp, cache, {"x"});
  EXPECT_EQ(eval[0][0].item<int64_t>(), 32);
}

TEST(NegativeTextPrompts, LearnableContextsStartAtTheFixedPromptAndLearn) {
  auto fixed_exp = testing::tiny_experiment();
  auto learn_exp = fixed_exp;
  learn_exp.mutable_prompts()->mutable_negative()->set_text_learnable(true);
  const std::vector<std::string> classes = {"happy", "sad", "anger_disgust"};
  HespModel fixed =
      testing::make_model(fixed_exp, testing::tiny_clip(), testing::tokenizer(), classes);
  HespModel learn =
      testing::make_model(learn_exp, testing::tiny_clip(), testing::tokenizer(), classes);
  EXPECT_TRUE(torch::allclose(learn->negative_text_features(), fixed->negative_text_features(),
                              1e-5, 1e-5));
  bool found = false;
  for (const auto& [name, t] : learn->learnable()) {
    if (name == "negative_text_prompts.contexts") {
      found = true;
      EXPECT_EQ(t.size(0), 1);  // Shared by default; "this video is not" = 4 tokens.
      EXPECT_EQ(t.size(1), 4);
    }
  }
  EXPECT_TRUE(found);
  for (const auto& [name, t] : fixed->learnable()) {
    EXPECT_EQ(name.find("negative_text"), std::string::npos);
  }
  learn->negative_text_features().sum().backward();
  for (const auto& [name, t] : learn->learnable()) {
    if (name == "negative_text_prompts.contexts") {
      EXPECT_GT(t.grad().abs().sum().item<double>(), 0);
    }
  }
}

}  // namespace
}  // namespace hesp::model
