// Grad-CAM finds a region known by construction. The test sets the weights of a tiny
// vision tower so that:
//  - the first block is the identity (zero output projections), and the last block's
//    attention is uniform (q = k = 0) with v = out_proj = identity and no MLP, so the class
//    token leaving it is  cls + mean_j LN1(token_j);
//  - the patch embedding maps an image at the CLIP mean colour to a constant vector, which
//    ln_pre turns into 0, and a patch whose normalised red channel is 1 to a vector whose
//    LayerNorm is a fixed pattern u (zero mean, orthogonal to the class token a);
//  - the text feature is u's projection, so moving the class token towards u raises the
//    logit.
// Then A (patch tokens entering the last block) is u at the red patch and 0 elsewhere, and
// alpha . u > 0: the CAM is positive on the red patch only. After the bilinear upsampling
// (align_corners = false) the maximum of an inner cell is shared by the two centre pixels
// 16r + 7 and 16r + 8 (first wins); the border cells reach it on their whole outer half
// (source coordinates clamp to the edge), so cell 0 peaks first at 0 and cell 3 at 56.
#include <gtest/gtest.h>

#include "clip/model/clip_model.h"
#include "model/grad_cam.h"
#include "model/normalization.h"
#include "util/errors.h"

namespace hesp::model {
namespace {

std::shared_ptr<clip::ClipModel> engineered_tower(torch::Tensor* u_out) {
  auto c = clip::named_config("tiny");  // R 64, patch 16 (4x4 grid), width 128, E 64.
  auto model = std::make_shared<clip::ClipModel>(c);
  model->init_random(1);
  const int64_t W = c.vision_width;
  // a: +1 on channels 0..31, -1 on 64..95; u: +1 on 32..63, -1 on 96..127 (x sqrt 2: unit
  // variance). Both zero-mean, orthogonal, and visible in the first 64 (projected) channels.
  auto a = torch::zeros({W}), u = torch::zeros({W});
  using torch::indexing::Slice;
  a.index_put_({Slice(0, 32)}, 1.0);
  a.index_put_({Slice(64, 96)}, -1.0);
  u.index_put_({Slice(32, 64)}, 1.0);
  u.index_put_({Slice(96, 128)}, -1.0);
  a *= std::sqrt(2.0);
  u *= std::sqrt(2.0);
  auto params = model->named_parameters(/*recurse=*/true);
  auto set = [&](const std::string& name, const torch::Tensor& v) {
    ASSERT_TRUE(params.contains(name)) << name;
    torch::NoGradGuard g;
    params[name].copy_(v.expand_as(params[name]));
  };
  set("visual.class_embedding", a);
  set("visual.positional_embedding", torch::zeros({1}));
  set("visual.ln_pre.weight", torch::ones({1}));
  set("visual.ln_pre.bias", torch::zeros({1}));
  set("visual.ln_post.weight", torch::ones({1}));
  set("visual.ln_post.bias", torch::zeros({1}));
  // Patch embedding: output_k = mean over the patch of (r' (u_k + 1) + g' (1 - u_k) + b').
  auto conv = torch::zeros({W, 3, 16, 16});
  conv.select(1, 0).add_((u + 1).view({W, 1, 1}) / 256.0);
  conv.select(1, 1).add_((1 - u).view({W, 1, 1}) / 256.0);
  conv.select(1, 2).add_(torch::ones({W, 1, 1}) / 256.0);
  set("visual.conv1.weight", conv);
  for (int i = 0; i < 2; ++i) {
    const std::string b = "visual.transformer.resblocks." + std::to_string(i) + ".";
    set(b + "ln_1.weight", torch::ones({1}));
    set(b + "ln_1.bias", torch::zeros({1}));
    set(b + "mlp.c_proj.weight", torch::zeros({1}));
    set(b + "mlp.c_proj.bias", torch::zeros({1}));
    set(b + "attn.out_proj.bias", torch::zeros({1}));
    set(b + "attn.in_proj_bias", torch::zeros({1}));
    auto in_proj = torch::zeros({3 * W, W});
    in_proj.narrow(0, 2 * W, W).copy_(torch::eye(W));  // q = k = 0, v = identity
    set(b + "attn.in_proj_weight", in_proj);
    set(b + "attn.out_proj.weight", i == 0 ? torch::zeros({W, W}) : torch::eye(W));
  }
  auto proj = torch::zeros({W, c.embed_dim});
  proj.narrow(0, 0, c.embed_dim).copy_(torch::eye(c.embed_dim));
  set("visual.proj", proj);
  *u_out = u;
  return model;
}

// An image at the CLIP mean colour, with one patch whose normalised red channel is 1.
torch::Tensor image_with_red_patch(int64_t row, int64_t col) {
  const auto o = torch::TensorOptions();
  auto img = clip_mean(o).expand({3, 64, 64}).clone();
  if (row >= 0) {
    using torch::indexing::Slice;
    img.index_put_({0, Slice(16 * row, 16 * row + 16), Slice(16 * col, 16 * col + 16)},
                   0.48145466 + 0.26862954);
  }
  return img;
}

int64_t expected_peak(int64_t cell) { return cell == 0 ? 0 : cell == 3 ? 56 : 16 * cell + 7; }

TEST(GradCam, BoxLandsOnThePatchThatDrivesTheLogit) {
  torch::Tensor u;
  auto tower = engineered_tower(&u);
  const auto text = u.narrow(0, 0, 64).unsqueeze(0);  // [1, E]
  for (auto [r, c] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {2, 1}, {3, 3}, {1, 2}}) {
    const auto result = grad_cam(*tower, image_with_red_patch(r, c).unsqueeze(0), text);
    EXPECT_EQ(result.centers[0][0].item<int64_t>(), expected_peak(r)) << "patch " << r << "," << c;
    EXPECT_EQ(result.centers[0][1].item<int64_t>(), expected_peak(c)) << "patch " << r << "," << c;
    // Positive on the patch, zero far from it.
    EXPECT_GT(result.maps[0][16 * r + 8][16 * c + 8].item<float>(), 0.0f);
    const int64_t far_r = r < 2 ? 60 : 2, far_c = c < 2 ? 60 : 2;
    EXPECT_EQ(result.maps[0][far_r][far_c].item<float>(), 0.0f);
  }
  // Without the red patch the CAM is zero everywhere: it points nowhere, so the box goes to
  // the image centre (spec §2), not to the first pixel of the tie.
  const auto flat = grad_cam(*tower, image_with_red_patch(-1, -1).unsqueeze(0), text);
  EXPECT_EQ(flat.maps.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(flat.centers[0][0].item<int64_t>(), 32);
  EXPECT_EQ(flat.centers[0][1].item<int64_t>(), 32);
}

TEST(GradCam, CentersAreTheFirstArgMaxOrTheImageCentre) {
  auto maps = torch::zeros({3, 8, 10});
  maps[0][2][7] = 1.0;  // One peak.
  maps[1][5][1] = 2.0;  // A tie: the first in row-major order wins.
  maps[1][5][4] = 2.0;
  const auto c = cam_centers(maps);  // maps[2] is zero everywhere.
  EXPECT_TRUE(torch::equal(c, torch::tensor({2, 7, 5, 1, 4, 5}, torch::kLong).view({3, 2})));
}

TEST(CamCache, RoundTripsAndRejectsBadLines) {
  CamCache c;
  c.put("Train_AFEW/Angry/000001", 10, 20);
  c.put("x y", 3, 4);
  const auto back = CamCache::parse(c.serialize(), "mem");
  EXPECT_EQ(back.at("Train_AFEW/Angry/000001").first, 10);
  EXPECT_EQ(back.at("Train_AFEW/Angry/000001").second, 20);
  EXPECT_EQ(back.at("x y").second, 4);
  EXPECT_THROW(CamCache::parse("a\t1\n", "bad.tsv"), UserError);
  try {
    CamCache::parse("a\t1\t2\nb\tx\t2\n", "bad.tsv");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tsv:2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hesp::model
