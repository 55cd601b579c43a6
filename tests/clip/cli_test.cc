// `hesp clip encode` on the fixture reproduces the reference file; `info`, `init` and
// `zeroshot` run end to end (subprocesses of the real binary).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/weights/h5_file.h"
#include "clip/weights/weight_io.h"
#include "clip_test_util.h"

namespace hesp::clip {
namespace {

using testing::all_close;
using testing::fixture;

// Runs `hesp <args>`, returns (exit code, stdout).
std::pair<int, std::string> hesp(const std::string& args) {
  const std::string cmd = std::string(HESP_BINARY_DIR) + "/bin/hesp " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

TEST(ClipCli, EncodeReproducesReference) {
  const std::string out = (testing::scratch_dir() / "encoded.h5").string();
  for (const char* weights : {"tiny_clip_a.state_dict.pt", "tiny_clip_a.jit.pt"}) {
    auto [code, text] =
        hesp("--threads 1 clip encode --weights " + fixture(weights) + " --input " +
             fixture("tiny_clip_a.reference.h5") + " --output " + out + " --batch 4");
    ASSERT_EQ(code, 0) << text;
    auto ref = H5File::open_read(fixture("tiny_clip_a.reference.h5"));
    auto got = H5File::open_read(out);
    for (const char* name : {"image_features", "text_features", "logits_per_image", "visual_tokens",
                             "visual_tokens_proj"}) {
      EXPECT_TRUE(all_close(got.read_float(name), ref.read_float(name), 1e-4, 1e-4)) << name;
    }
    EXPECT_TRUE(torch::equal(got.read_int64("eot_index"), ref.read_int64("eot_index")));
  }
}

TEST(ClipCli, InfoReportsArchitectureAndDtypes) {
  auto [code, text] = hesp("clip info --weights " + fixture("tiny_clip_a.safetensors"));
  ASSERT_EQ(code, 0) << text;
  auto j = nlohmann::json::parse(text.substr(text.find('{')));
  EXPECT_EQ(j["vision_width"], 128);
  EXPECT_EQ(j["vision_heads"], 2);
  EXPECT_EQ(j["grid_size"], 4);
  EXPECT_EQ(j["transformer_layers"], 2);
  EXPECT_EQ(j["storage_dtypes"]["F16"], 35);
  EXPECT_EQ(j["storage_dtypes"]["F32"], 27);
  // Independent parameter count: sum of the loaded tensors' sizes.
  int64_t count = 0;
  for (const auto& [n, t] : weights::load_weights(fixture("tiny_clip_a.safetensors")).tensors)
    count += t.numel();
  EXPECT_EQ(j["parameter_count"], count);
}

TEST(ClipCli, InitWritesLoadableReleasedShapes) {
  const std::string out = (testing::scratch_dir() / "b32.safetensors").string();
  auto [code, text] = hesp("clip init --arch ViT-B/32 --seed 3 --dtype fp16 --out " + out);
  ASSERT_EQ(code, 0) << text;
  auto w = weights::load_weights(out);
  EXPECT_EQ(infer_config(w.tensors), named_config("ViT-B/32"));
  EXPECT_EQ(w.storage_dtypes.at("visual.conv1.weight"), "F16");
  EXPECT_EQ(w.storage_dtypes.at("visual.ln_pre.weight"), "F32");
  EXPECT_EQ(w.storage_dtypes.at("token_embedding.weight"), "F32");
  auto model = ClipModel::from_state_dict(w.tensors);
  EXPECT_EQ(model->parameter_count(), 151277313);  // the released ViT-B/32 count

  auto [bad, msg] = hesp("clip init --arch ViT-Z/9 --out " + out);
  EXPECT_EQ(bad, 2) << msg;
  EXPECT_THAT(msg, ::testing::HasSubstr("unknown CLIP architecture 'ViT-Z/9'"));
}

TEST(ClipCli, ZeroshotPrintsProbabilities) {
  auto [code, text] =
      hesp("clip zeroshot --weights " + fixture("tiny_clip_a.safetensors") +
           " --classes 'happy, sad,surprise' --input " + fixture("tiny_clip_a.reference.h5"));
  ASSERT_EQ(code, 0) << text;
  auto j = nlohmann::json::parse(text.substr(text.find('{')));
  ASSERT_EQ(j["probabilities"].size(), 6u);
  EXPECT_EQ(j["prompts"][1], "a photo of a sad.");
  // Independently: the same prompts through the tokenizer and the model in-process.
  Tokenizer tokenizer(std::string(HESP_SOURCE_DIR) + "/src/clip/data/bpe_simple_vocab_16e6.txt.gz");
  auto model = ClipModel::load(fixture("tiny_clip_a.safetensors"));
  torch::NoGradGuard no_grad;
  auto text_features = model->encode_text(
      tokenizer.tokenize({"a photo of a happy.", "a photo of a sad.", "a photo of a surprise."}));
  auto image = model->encode_image(
      H5File::open_read(fixture("tiny_clip_a.reference.h5")).read_float("images"));
  auto expected = model->logits_per_image(image, text_features).to(torch::kDouble).softmax(-1);
  auto acc = expected.accessor<double, 2>();
  for (size_t i = 0; i < 6; ++i) {
    double sum = 0;
    for (size_t k = 0; k < 3; ++k) {
      const double p = j["probabilities"][i][k].get<double>();
      EXPECT_NEAR(p, acc[i][k], 1e-6) << "image " << i << " class " << k;
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(ClipCli, BadWeightsFailWithMessage) {
  auto [code, text] = hesp("clip info --weights " + fixture("README.md"));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(text, ::testing::HasSubstr("unrecognised weight file format"));
}

}  // namespace
}  // namespace hesp::clip
