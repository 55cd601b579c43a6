// Box centres of a training batch (spec §2): cam_per_video centres follow each clip's view
// (crop, scale, flip); the evaluation view and the reference's cam_once box do not move.
#include <gtest/gtest.h>

#include "eval/cam_boxes.h"

namespace hesp::train {
namespace {

TEST(CamBoxes, PerVideoCentresFollowTheTrainingView) {
  config::Experiment exp;
  exp.mutable_data()->set_image_size(64);
  model::CamCache cache;
  cache.put("a", 41, 40);
  cache.put("b", 14, 16);
  cache.put("__run__", 20, 30);
  data::ClipPlan zoom;  // The right half of a 128 x 128 frame, mirrored.
  zoom.height = zoom.width = 128;
  zoom.box = {0, 64, 128, 64};
  zoom.flip = true;
  data::ClipPlan whole = zoom;
  whole.box = {0, 0, 128, 128};
  whole.flip = false;
  const std::vector<data::ClipPlan> views{zoom, whole};
  const auto mapped = eval::batch_centers(exp, cache, {"a", "b"}, &views);
  // Row 41 stays (full height); column 40 of 64 is source column 80.5 -> view column
  // (80.5 - 64 + 0.5) * 64 / 64 - 0.5 = 16.5, rounded to even 16, mirrored 63 - 16 = 47.
  EXPECT_EQ(mapped[0][0].item<int64_t>(), 41);
  EXPECT_EQ(mapped[0][1].item<int64_t>(), 47);
  // The whole frame unflipped is the evaluation view: no move.
  EXPECT_EQ(mapped[1][0].item<int64_t>(), 14);
  EXPECT_EQ(mapped[1][1].item<int64_t>(), 16);
  // Evaluation batches (no views) keep the cached centre.
  const auto eval = eval::batch_centers(exp, cache, {"a"});
  EXPECT_EQ(eval[0][1].item<int64_t>(), 40);
  // cam_once: one box for every view, as the reference.
  exp.mutable_prompts()->mutable_visual()->set_box(config::VisualPromptConfig::cam_once);
  const auto once = eval::batch_centers(exp, cache, {"a", "b"}, &views);
  EXPECT_EQ(once[0][0].item<int64_t>(), 20);
  EXPECT_EQ(once[0][1].item<int64_t>(), 30);
}

}  // namespace
}  // namespace hesp::train
