// Temporal and spatial sampling: determinism, the torchvision crop rules, and the pixels
// against torch's own bilinear interpolation (an independent implementation).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "data/loader/clip_transform.h"

namespace hesp::data {
namespace {

namespace F = torch::nn::functional;

TEST(DataTransform, EvaluationTakesSegmentMiddles) {
  EXPECT_EQ(sample_frames(16, 8, false, nullptr), (std::vector<int>{1, 3, 5, 7, 9, 11, 13, 15}));
  EXPECT_EQ(sample_frames(8, 8, false, nullptr), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // floor((k + 0.5) * 20 / 8)
  EXPECT_EQ(sample_frames(20, 8, false, nullptr), (std::vector<int>{1, 3, 6, 8, 11, 13, 16, 18}));
  // Shorter clips repeat their last frame, in both modes.
  EXPECT_EQ(sample_frames(5, 8, false, nullptr), (std::vector<int>{0, 1, 2, 3, 4, 4, 4, 4}));
  KeyedRng rng(1, 2, RngStream::kClipTransform, 3);
  EXPECT_EQ(sample_frames(5, 8, true, &rng), (std::vector<int>{0, 1, 2, 3, 4, 4, 4, 4}));
}

TEST(DataTransform, TrainingPicksAFrameInsideEachSegment) {
  std::vector<std::set<int>> hits(8);
  for (uint64_t clip = 0; clip < 300; ++clip) {
    KeyedRng rng(9, 0, RngStream::kClipTransform, clip);
    const auto f = sample_frames(20, 8, true, &rng);
    for (int k = 0; k < 8; ++k) {
      EXPECT_GE(f[k], k * 20 / 8);
      EXPECT_LT(f[k], (k + 1) * 20 / 8);
      hits[k].insert(f[k]);
    }
  }
  // Every frame of every segment is reachable.
  for (int k = 0; k < 8; ++k)
    EXPECT_EQ(static_cast<int>(hits[k].size()), (k + 1) * 20 / 8 - k * 20 / 8);
}

TEST(DataTransform, PlanIsAFunctionOfSeedEpochAndClip) {
  TransformOptions o;
  o.seed = 42;
  auto same = [](const ClipPlan& a, const ClipPlan& b) {
    return a.frames == b.frames && a.box == b.box && a.flip == b.flip;
  };
  EXPECT_TRUE(same(plan_clip(o, 16, 224, 224, 3, 17), plan_clip(o, 16, 224, 224, 3, 17)));
  int differ_epoch = 0, differ_clip = 0, flips = 0;
  for (int i = 0; i < 100; ++i) {
    differ_epoch += !same(plan_clip(o, 16, 224, 224, 3, i), plan_clip(o, 16, 224, 224, 4, i));
    differ_clip += !same(plan_clip(o, 16, 224, 224, 3, i), plan_clip(o, 16, 224, 224, 3, i + 1));
    flips += plan_clip(o, 16, 224, 224, 3, i).flip;
  }
  EXPECT_EQ(differ_epoch, 100);
  EXPECT_EQ(differ_clip, 100);
  EXPECT_GT(flips, 30);
  EXPECT_LT(flips, 70);
  // Evaluation: no randomness at all.
  o.training = false;
  const auto e = plan_clip(o, 16, 200, 200, 3, 17);
  EXPECT_TRUE(e.box == (CropBox{0, 0, 200, 200}));
  EXPECT_FALSE(e.flip);
}

TEST(DataTransform, RandomResizedCropStaysInItsRanges) {
  double area_sum = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    KeyedRng rng(5, 1, RngStream::kClipTransform, i);
    const CropBox b = random_resized_crop(224, 224, 0.08, 1.0, 3.0 / 4, 4.0 / 3, rng);
    ASSERT_TRUE(b.top >= 0 && b.left >= 0 && b.top + b.height <= 224 && b.left + b.width <= 224);
    const double area = static_cast<double>(b.height) * b.width / (224.0 * 224.0);
    const double aspect = static_cast<double>(b.width) / b.height;
    EXPECT_GE(area, 0.08 * 0.95);
    EXPECT_LE(area, 1.0);
    // Rounding of w and h to integers moves the aspect a little past the bounds.
    EXPECT_GE(aspect, 0.75 * 0.97);
    EXPECT_LE(aspect, 4.0 / 3 * 1.03);
    area_sum += area;
  }
  // Accepted tries are uniform in area, except the large ones that do not fit at extreme
  // aspects: the mean sits a little under 0.54.
  EXPECT_GT(area_sum / 2000, 0.45);
  EXPECT_LT(area_sum / 2000, 0.56);
}

TEST(DataTransform, RandomResizedCropFallsBackToACentreCrop) {
  KeyedRng rng(0, 0, RngStream::kClipTransform, 0);
  // Areas above the image never fit: after 10 tries, the centred fallback.
  EXPECT_TRUE(random_resized_crop(100, 400, 2.0, 3.0, 3.0 / 4, 4.0 / 3, rng) ==
              (CropBox{0, 133, 100, 133}));  // w = round(100 * 4/3)
  EXPECT_TRUE(random_resized_crop(400, 100, 2.0, 3.0, 3.0 / 4, 4.0 / 3, rng) ==
              (CropBox{133, 0, 133, 100}));  // h = round(100 / (3/4))
  EXPECT_TRUE(random_resized_crop(90, 100, 2.0, 3.0, 3.0 / 4, 4.0 / 3, rng) ==
              (CropBox{0, 0, 90, 100}));
}

// torch's bilinear resize (align_corners=False, no antialias) of a crop, [3, S, S] in 0..255.
torch::Tensor reference(const torch::Tensor& hwc, const CropBox& b, bool flip, int size) {
  auto crop = hwc.slice(0, b.top, b.top + b.height).slice(1, b.left, b.left + b.width);
  auto chw = crop.permute({2, 0, 1}).to(torch::kFloat32).unsqueeze(0);
  auto out = F::interpolate(chw, F::InterpolateFuncOptions()
                                     .size(std::vector<int64_t>{size, size})
                                     .mode(torch::kBilinear)
                                     .align_corners(false))
                 .squeeze(0);
  return flip ? out.flip({2}) : out;
}

TEST(DataTransform, RenderMatchesTorchBilinear) {
  torch::manual_seed(0);
  const auto hwc = torch::randint(0, 256, {37, 53, 3}, torch::kUInt8);
  struct Case {
    CropBox box;
    bool flip;
    int size;
  };
  for (const Case& c : {Case{{5, 7, 20, 30}, false, 24}, Case{{5, 7, 20, 30}, true, 24},
                        Case{{0, 0, 37, 53}, false, 16}, Case{{10, 12, 9, 11}, true, 32},
                        Case{{0, 0, 37, 53}, false, 64}}) {
    const auto want = reference(hwc, c.box, c.flip, c.size);
    auto got = torch::empty({3, c.size, c.size}, torch::kFloat32);
    render_frame(hwc.data_ptr<uint8_t>(), 37, 53, c.box, c.flip, c.size, got.data_ptr<float>());
    // Both in float32: only the order of float operations may differ.
    EXPECT_LT((got * 255 - want).abs().max().item<float>(), 2e-3);
    auto got8 = torch::empty({3, c.size, c.size}, torch::kUInt8);
    render_frame(hwc.data_ptr<uint8_t>(), 37, 53, c.box, c.flip, c.size, got8.data_ptr<uint8_t>());
    // uint8 = the value rounded half up; float rounding may tip a value sitting on a .5.
    const auto rounded = (want + 0.5).floor();
    EXPECT_LE((got8.to(torch::kFloat32) - rounded).abs().max().item<float>(), 1.0f);
    EXPECT_LT((got8.to(torch::kFloat32) - rounded).abs().mean().item<float>(), 0.01f);
  }
}

TEST(DataTransform, IdentityViewIsBitExact) {
  torch::manual_seed(1);
  const auto hwc = torch::randint(0, 256, {32, 32, 3}, torch::kUInt8);
  auto got = torch::empty({3, 32, 32}, torch::kUInt8);
  render_frame(hwc.data_ptr<uint8_t>(), 32, 32, {0, 0, 32, 32}, false, 32, got.data_ptr<uint8_t>());
  EXPECT_TRUE(torch::equal(got, hwc.permute({2, 0, 1})));
}

}  // namespace
}  // namespace hesp::data
