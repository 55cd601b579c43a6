// The tiny fixture model loaded from each of the three containers reproduces every tensor
// of tiny_clip_a.reference.h5 (produced by the PyTorch reference implementation).
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "clip/weights/h5_file.h"
#include "clip/weights/weight_io.h"
#include "clip_test_util.h"

namespace hesp::clip {
namespace {

using testing::all_close;
using testing::fixture;

constexpr double kTol = 1e-4;

class ReferenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto ref = H5File::open_read(fixture("tiny_clip_a.reference.h5"));
    for (const char* name : {"images", "image_features", "text_features", "logits_per_image",
                             "visual_tokens", "visual_tokens_proj", "text_hidden"}) {
      reference()[name] = ref.read_float(name);
    }
    reference()["tokens"] = ref.read_int64("tokens");
    reference()["eot_index"] = ref.read_int64("eot_index");
  }
  static std::map<std::string, torch::Tensor>& reference() {
    static std::map<std::string, torch::Tensor> r;
    return r;
  }
  const torch::Tensor& ref(const std::string& name) { return reference().at(name); }

  void SetUp() override { model_ = ClipModel::load(fixture(GetParam())); }
  std::shared_ptr<ClipModel> model_;
};

TEST_P(ReferenceTest, InfersTheFixtureArchitecture) {
  EXPECT_EQ(model_->config(), named_config("tiny")) << model_->config().to_string();
  EXPECT_EQ(model_->config().vision_heads(), 2);
  EXPECT_EQ(model_->config().transformer_heads(), 1);
  EXPECT_EQ(model_->config().num_visual_tokens(), 17);
  EXPECT_NEAR(model_->logit_scale().item<double>(), std::log(1 / 0.07), 1e-6);
}

TEST_P(ReferenceTest, StorageDtypesAreTheMixedHalfPolicy) {
  auto w = weights::load_weights(fixture(GetParam()));
  ASSERT_EQ(w.tensors.size(), 62u);
  int f16 = 0, f32 = 0;
  for (const auto& [name, d] : w.storage_dtypes) (d == "F16" ? f16 : f32)++;
  EXPECT_EQ(f16, 35);
  EXPECT_EQ(f32, 27);
  EXPECT_EQ(w.storage_dtypes.at("token_embedding.weight"), "F32");
  EXPECT_EQ(w.storage_dtypes.at("visual.transformer.resblocks.1.attn.in_proj_weight"), "F16");
  for (const auto& [name, t] : w.tensors) EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
}

TEST_P(ReferenceTest, ImageTowerMatchesReference) {
  torch::NoGradGuard no_grad;
  const auto& images = ref("images");
  EXPECT_TRUE(all_close(model_->encode_image(images), ref("image_features"), kTol, kTol));
  EXPECT_TRUE(all_close(model_->visual_tokens(images), ref("visual_tokens"), kTol, kTol));
  EXPECT_TRUE(all_close(model_->visual_tokens_proj(images), ref("visual_tokens_proj"), kTol, kTol));
  // The Grad-CAM split recomposes the same features.
  auto before = model_->visual_tokens_before_last_block(images);
  EXPECT_EQ(before.sizes(), (std::vector<int64_t>{6, 17, 128}));
  EXPECT_TRUE(
      all_close(model_->finish_image_from_last_block(before), ref("image_features"), kTol, kTol));
}

TEST_P(ReferenceTest, TextTowerMatchesReference) {
  torch::NoGradGuard no_grad;
  const auto& tokens = ref("tokens");
  EXPECT_TRUE(torch::equal(tokens.argmax(-1), ref("eot_index")));
  EXPECT_TRUE(all_close(model_->encode_text(tokens, /*cut_at_eot=*/false), ref("text_features"),
                        kTol, kTol));
  EXPECT_TRUE(all_close(model_->encode_text(tokens, /*cut_at_eot=*/true), ref("text_features"),
                        kTol, kTol));
  EXPECT_TRUE(all_close(model_->text_hidden(tokens), ref("text_hidden"), kTol, kTol));
  // From embeddings: the path learnable contexts take.
  auto emb = model_->token_embedding(tokens);
  EXPECT_EQ(emb.sizes(), (std::vector<int64_t>{8, 77, 64}));
  EXPECT_TRUE(all_close(model_->encode_text_embeddings(emb, ref("eot_index")), ref("text_features"),
                        kTol, kTol));
}

TEST_P(ReferenceTest, LogitsMatchReference) {
  torch::NoGradGuard no_grad;
  auto logits = model_->logits_per_image(model_->encode_image(ref("images")),
                                         model_->encode_text(ref("tokens")));
  EXPECT_TRUE(all_close(logits, ref("logits_per_image"), kTol, kTol));
}

TEST_P(ReferenceTest, CutAtEotEqualsFullLength) {
  torch::NoGradGuard no_grad;
  // Short prompts (max EOT well below 77) are where the cut saves work.
  auto tokens = ref("tokens").index({torch::indexing::Slice(0, 4)});
  const int64_t longest = tokens.argmax(-1).max().item<int64_t>();
  ASSERT_LT(longest, 76);
  auto full = model_->encode_text(tokens, false);
  auto cut = model_->encode_text(tokens, true);
  EXPECT_TRUE(all_close(cut, full, 1e-5, 1e-5));
  // A batch with one row padded far past the others still agrees.
  EXPECT_TRUE(all_close(model_->encode_text(ref("tokens"), true),
                        model_->encode_text(ref("tokens"), false), 1e-5, 1e-5));
}

TEST_P(ReferenceTest, WeightsAreFrozenAndGradientsReachInputs) {
  for (const auto& p : model_->parameters()) EXPECT_FALSE(p.requires_grad());
  auto x = ref("images").index({torch::indexing::Slice(0, 2)}).clone().requires_grad_(true);
  model_->encode_image(x).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0);
  auto emb = model_->token_embedding(ref("tokens").index({torch::indexing::Slice(0, 2)}))
                 .detach()
                 .requires_grad_(true);
  model_->encode_text_embeddings(emb, ref("eot_index").index({torch::indexing::Slice(0, 2)}))
      .sum()
      .backward();
  ASSERT_TRUE(emb.grad().defined());
  EXPECT_GT(emb.grad().abs().sum().item<double>(), 0);
  for (const auto& p : model_->parameters()) EXPECT_FALSE(p.grad().defined());
}

INSTANTIATE_TEST_SUITE_P(AllFormats, ReferenceTest,
                         ::testing::Values("tiny_clip_a.jit.pt", "tiny_clip_a.safetensors",
                                           "tiny_clip_a.state_dict.pt"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace hesp::clip
