// The visual prompt: box placement and both fusions against explicit loops.
#include <gtest/gtest.h>

#include "model/visual_prompt.h"

namespace hesp::model {
namespace {

using Corner = std::pair<int64_t, int64_t>;

TEST(VisualPrompt, BoxIsClampedInsideTheImage) {
  // s = 56, S = 224: centres clamp to [28, 195].
  EXPECT_EQ((box_top_left(112, 112, 56, 224)), Corner(84, 84));
  EXPECT_EQ((box_top_left(0, 0, 56, 224)), Corner(0, 0));
  EXPECT_EQ((box_top_left(223, 10, 56, 224)), Corner(167, 0));
  EXPECT_EQ((box_top_left(30, 200, 56, 224)), Corner(2, 167));
}

// out[b,t,c,y,x] by explicit loops.
torch::Tensor fuse_by_hand(const torch::Tensor& frames, const torch::Tensor& delta,
                           const torch::Tensor& centers, bool add) {
  auto out = frames.clone();
  const int64_t s = delta.size(1), S = frames.size(3);
  for (int64_t b = 0; b < frames.size(0); ++b) {
    const auto [top, left] =
        box_top_left(centers[b][0].item<int64_t>(), centers[b][1].item<int64_t>(), s, S);
    for (int64_t t = 0; t < frames.size(1); ++t)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < s; ++y)
          for (int64_t x = 0; x < s; ++x) {
            const float v = frames[b][t][c][top + y][left + x].item<float>();
            const float d = delta[c][y][x].item<float>();
            out[b][t][c][top + y][left + x] = add ? v + d : d;
          }
  }
  return out;
}

TEST(VisualPrompt, AddAndReplaceMatchLoops) {
  torch::manual_seed(3);
  const auto frames = torch::rand({2, 3, 3, 20, 20});
  const auto centers = torch::tensor({{2, 15}, {10, 10}}, torch::kLong);
  for (auto fusion : {config::VisualPromptConfig::add, config::VisualPromptConfig::replace}) {
    VisualPrompt vp(6, fusion);
    torch::NoGradGuard g;
    vp->delta.copy_(torch::randn({3, 6, 6}));
    const auto got = vp->forward(frames, centers);
    const auto want =
        fuse_by_hand(frames, vp->delta, centers, fusion == config::VisualPromptConfig::add);
    EXPECT_TRUE(torch::allclose(got, want, 1e-6, 1e-6)) << "fusion " << fusion;
  }
}

TEST(VisualPrompt, GradientOfDeltaSumsOverFramesInTheBox) {
  VisualPrompt vp(4, config::VisualPromptConfig::add);
  const auto frames = torch::zeros({1, 3, 3, 10, 10});
  const auto upstream = torch::rand({1, 3, 3, 10, 10});
  const auto centers = torch::tensor({{5, 5}}, torch::kLong);
  (vp->forward(frames, centers) * upstream).sum().backward();
  using torch::indexing::Slice;
  const auto want = upstream[0].sum(0).index({Slice(), Slice(3, 7), Slice(3, 7)});
  EXPECT_TRUE(torch::allclose(vp->delta.grad(), want, 1e-6, 1e-6));
}

}  // namespace
}  // namespace hesp::model
