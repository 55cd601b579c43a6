#pragma once
// What the model sees of a stored clip (spec §1): which stored frames (temporal
// sampling) and which view of them (spatial sampling), then the pixels of that view.
//
// Training draws, in this order, from KeyedRng(seed, epoch, kClipTransform, clip index):
// one frame inside each of T equal segments, the random resized crop, the flip. The crop
// and flip are drawn once per clip and applied to every frame.
#include <cstdint>
#include <utility>
#include <vector>

#include "data/loader/rng.h"

namespace hesp::data {

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox& o) const {
    return top == o.top && left == o.left && height == o.height && width == o.width;
  }
};

struct TransformOptions {
  int frames = 8;        // T.
  int size = 224;        // S.
  bool training = true;  // false = evaluation view.
  double min_area = 0.08, max_area = 1.0;
  double min_aspect = 3.0 / 4.0, max_aspect = 4.0 / 3.0;
  double flip_probability = 0.5;
  uint64_t seed = 0;
};

// Everything random about one clip, decided before any pixel is read.
struct ClipPlan {
  std::vector<int> frames;  // Stored frame index per output frame (T entries).
  CropBox box;              // In stored-frame pixels.
  bool flip = false;
  int height = 0, width = 0;  // The stored frame's size.
};

// Temporal sampling. Stored clips with fewer than T frames repeat their last frame and draw
// nothing; otherwise segment k is [k*n/T, (k+1)*n/T) and training picks a uniform frame in
// it, evaluation its middle frame floor((2k+1)*n / 2T).
std::vector<int> sample_frames(int stored_frames, int frames, bool training, KeyedRng* rng);

// torchvision's RandomResizedCrop.get_params: up to 10 tries of (area, log-aspect) drawn
// uniformly, then a centre crop clamped to the aspect range. Python's round() rounds half to
// even, and so does std::nearbyint in the default rounding mode.
CropBox random_resized_crop(int height, int width, double min_area, double max_area,
                            double min_aspect, double max_aspect, KeyedRng& rng);

ClipPlan plan_clip(const TransformOptions& options, int stored_frames, int height, int width,
                   int64_t epoch, int64_t clip_index);

// Where a pixel of the evaluation view lands in the view `plan` renders (spec §2: the CAM
// box centre follows the face through each training view's crop, scale and flip).
// (row, col) of the size x size evaluation view (the whole plan.height x plan.width frame
// resized) -> the stored frame, src = (p + 0.5) * H / size - 0.5 (half-pixel centres, as
// render_frame's bilinear resize) -> the view, (src - box.top + 0.5) * size / box.height - 0.5,
// mirrored (size - 1 - col) when plan.flip; rounded to the nearest pixel. The result can lie
// outside [0, size) when the crop cuts the point off: the box placement clamps it.
std::pair<int64_t, int64_t> map_eval_point_to_view(int64_t row, int64_t col, const ClipPlan& plan,
                                                   int size);

// Renders one HWC RGB uint8 frame's crop box, resized bilinearly to size x size
// (half-pixel centres, align_corners=False as torch's interpolate, no antialias), mirrored
// when flip, into CHW planes: float in [0, 1] or uint8 (rounded half up).
void render_frame(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip,
                  int size, float* chw_out);
void render_frame(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip,
                  int size, uint8_t* chw_out);

}  // namespace hesp::data
