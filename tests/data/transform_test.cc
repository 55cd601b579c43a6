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

// The CAM box centre follows the face (spec §2): a point of the evaluation view, mapped into
// a training view with a known crop, scale and flip, shows the same source pixel. The frame
// encodes each pixel's own coordinates (red = row, green = column), so a rendered pixel
// tells where in the source it came from.
TEST(DataTransform, MappedCentreLandsOnTheSameSourcePixel) {
  const int H = 200, W = 200, S = 100;
  auto hwc = torch::zeros({H, W, 3}, torch::kUInt8);
  hwc.select(2, 0).copy_(torch::arange(H).view({H, 1}).expand({H, W}));
  hwc.select(2, 1).copy_(torch::arange(W).view({1, W}).expand({H, W}));
  auto render = [&](const CropBox& box, bool flip) {
    auto out = torch::empty({3, S, S});
    render_frame(hwc.data_ptr<uint8_t>(), H, W, box, flip, S, out.data_ptr<float>());
    return out * 255;
  };
  ClipPlan eval;
  eval.height = H;
  eval.width = W;
  eval.box = {0, 0, H, W};
  const auto eval_view = render(eval.box, false);
  for (const bool flip : {false, true}) {
    ClipPlan view = eval;
    view.box = {40, 60, 90, 120};  // Zoomed in, wider than tall.
    view.flip = flip;
    const auto train_view = render(view.box, flip);
    int far_without_mapping = 0;
    for (const auto& [r, c] : std::vector<std::pair<int64_t, int64_t>>{
             {30, 50}, {41, 40}, {44, 48}, {51, 45}, {60, 80}, {25, 35}}) {
      SCOPED_TRACE(std::to_string(r) + "," + std::to_string(c) + (flip ? " flipped" : ""));
      const auto [vr, vc] = map_eval_point_to_view(r, c, view, S);
      ASSERT_TRUE(vr >= 0 && vr < S && vc >= 0 && vc < S) << vr << "," << vc;
      // Source coordinates under the point in each view; mapping rounds to a view pixel,
      // at most half a view pixel = 0.45 (rows) / 0.6 (columns) source pixels away.
      for (int axis = 0; axis < 2; ++axis) {
        const double want = eval_view[axis][r][c].item<double>();
        const double got = train_view[axis][vr][vc].item<double>();
        EXPECT_NEAR(got, want, 0.5 * (axis == 0 ? 90.0 : 120.0) / S + 1e-3) << "axis " << axis;
        // Today's unmapped centre would show another part of the frame.
        far_without_mapping += std::abs(train_view[axis][r][c].item<double>() - want) > 5;
      }
    }
    EXPECT_GT(far_without_mapping, 0);
  }
  // A point the crop cuts off maps outside the view (the box placement clamps it).
  ClipPlan view = eval;
  view.box = {40, 60, 90, 120};
  EXPECT_LT(map_eval_point_to_view(5, 5, view, S).first, 0);
  // The evaluation view maps onto itself.
  for (int64_t p : {0, 17, 50, 99}) {
    EXPECT_EQ(map_eval_point_to_view(p, 99 - p, eval, S), std::make_pair(p, 99 - p));
  }
}

}  // namespace
}  // namespace hesp::data
