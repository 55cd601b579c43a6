// A Hugging Face CLIPModel-named safetensors file (written here from the fixture's
// OpenAI-named tensors with our own writer: q/k/v split, projections transposed) loads
// to the same tensors and reproduces the reference outputs.
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "clip/weights/h5_file.h"
#include "clip/weights/weight_io.h"
#include "clip_test_util.h"

namespace hesp::clip {
namespace {

using testing::all_close;
using testing::fixture;

TEST(HuggingFaceNaming, ConvertedFileLoadsWithParity) {
  auto openai = weights::load_weights(fixture("tiny_clip_a.safetensors"));
  auto hf = weights::openai_to_hf(openai.tensors);
  ASSERT_TRUE(hf.count("vision_model.encoder.layers.1.self_attn.k_proj.weight"));
  ASSERT_TRUE(hf.count("text_model.encoder.layers.0.mlp.fc2.bias"));
  ASSERT_TRUE(hf.count("vision_model.pre_layrnorm.weight"));
  EXPECT_EQ(hf.at("visual_projection.weight").sizes(), (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(hf.at("text_projection.weight").sizes(), (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(hf.size(), 62u + 4 * 4);  // each in_proj weight/bias becomes three tensors
  // Independent check of the split: q is the first W rows of in_proj.
  EXPECT_TRUE(torch::equal(
      hf.at("vision_model.encoder.layers.0.self_attn.v_proj.weight"),
      openai.tensors.at("visual.transformer.resblocks.0.attn.in_proj_weight").narrow(0, 256, 128)));

  std::vector<std::pair<std::string, torch::Tensor>> entries(hf.begin(), hf.end());
  // HF checkpoints carry a position_ids buffer; it is not a weight and must be ignored.
  entries.emplace_back("text_model.embeddings.position_ids", torch::arange(77).view({1, 77}));
  // Mixed storage dtypes as in the released files: the linear weights in bfloat16 would
  // lose precision, so store them as float16 where the fixture already was float16.
  for (auto& [name, t] : entries) {
    if (name.find("mlp.fc") != std::string::npos) t = t.to(torch::kHalf);
  }
  const std::string path = (testing::scratch_dir() / "hf_clip.safetensors").string();
  testing::write_bytes(path, weights::safetensors_bytes(entries, {{"format", "pt"}}));

  auto loaded = weights::load_weights(path);
  EXPECT_TRUE(loaded.hf_naming);
  ASSERT_EQ(loaded.tensors.size(), openai.tensors.size());
  for (const auto& [name, t] : openai.tensors) {
    ASSERT_TRUE(loaded.tensors.count(name)) << name;
    EXPECT_TRUE(torch::equal(loaded.tensors.at(name), t)) << name;
  }
  EXPECT_EQ(loaded.storage_dtypes.at("transformer.resblocks.0.mlp.c_fc.weight"), "F16");

  auto model = ClipModel::load(path);
  auto ref = H5File::open_read(fixture("tiny_clip_a.reference.h5"));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(all_close(model->encode_image(ref.read_float("images")),
                        ref.read_float("image_features"), 1e-4, 1e-4));
  EXPECT_TRUE(all_close(model->encode_text(ref.read_int64("tokens")),
                        ref.read_float("text_features"), 1e-4, 1e-4));
}

TEST(HuggingFaceNaming, MissingQkvPieceIsReported) {
  auto hf =
      weights::openai_to_hf(weights::load_weights(fixture("tiny_clip_a.safetensors")).tensors);
  hf.erase("text_model.encoder.layers.1.self_attn.k_proj.bias");
  std::vector<std::pair<std::string, torch::Tensor>> entries(hf.begin(), hf.end());
  const std::string path = (testing::scratch_dir() / "hf_missing_k.safetensors").string();
  testing::write_bytes(path, weights::safetensors_bytes(entries, {}));
  try {
    weights::load_weights(path);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(
        std::string(e.what()).find("k_proj piece of transformer.resblocks.1.attn.in_proj_bias"),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hesp::clip
