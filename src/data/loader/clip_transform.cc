#include "data/loader/clip_transform.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>

namespace hesp::data {

std::vector<int> sample_frames(int stored_frames, int frames, bool training, KeyedRng* rng) {
  CHECK_GE(stored_frames, 1);
  CHECK_GE(frames, 1);
  std::vector<int> out(frames);
  if (stored_frames < frames) {
    for (int k = 0; k < frames; ++k) out[k] = std::min(k, stored_frames - 1);
    return out;
  }
  const int64_t n = stored_frames, t = frames;
  for (int64_t k = 0; k < t; ++k) {
    if (training) {
      CHECK(rng != nullptr);
      const int64_t begin = k * n / t, end = (k + 1) * n / t;
      out[k] = static_cast<int>(rng->randint(begin, end));
    } else {
      out[k] = static_cast<int>((2 * k + 1) * n / (2 * t));
    }
  }
  return out;
}

CropBox random_resized_crop(int height, int width, double min_area, double max_area,
                            double min_aspect, double max_aspect, KeyedRng& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(min_aspect), log_hi = std::log(max_aspect);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(min_area, max_area);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int top = static_cast<int>(rng.randint(0, height - h + 1));
      const int left = static_cast<int>(rng.randint(0, width - w + 1));
      return {top, left, h, w};
    }
  }
  // Fallback: the whole frame, narrowed to the nearest allowed aspect ratio, centred.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < min_aspect) {
    h = static_cast<int>(std::nearbyint(w / min_aspect));
  } else if (in_ratio > max_aspect) {
    w = static_cast<int>(std::nearbyint(h * max_aspect));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

ClipPlan plan_clip(const TransformOptions& options, int stored_frames, int height, int width,
                   int64_t epoch, int64_t clip_index) {
  ClipPlan plan;
  if (!options.training) {
    plan.frames = sample_frames(stored_frames, options.frames, false, nullptr);
    plan.box = {0, 0, height, width};
    return plan;
  }
  KeyedRng rng(options.seed, static_cast<uint64_t>(epoch), RngStream::kClipTransform,
               static_cast<uint64_t>(clip_index));
  plan.frames = sample_frames(stored_frames, options.frames, true, &rng);
  plan.box = random_resized_crop(height, width, options.min_area, options.max_area,
                                 options.min_aspect, options.max_aspect, rng);
  plan.flip = rng.bernoulli(options.flip_probability);
  return plan;
}

namespace {

// One output coordinate's two source taps and the weight of the second, following
// torch's area_pixel_compute_source_index (align_corners=False) and its clamping.
struct Tap {
  int i0, i1;
  float w1;
};

std::vector<Tap> taps(int in_size, int out_size, int offset) {
  std::vector<Tap> t(out_size);
  const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int o = 0; o < out_size; ++o) {
    float src = scale * (static_cast<float>(o) + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    const int i0 = std::min(static_cast<int>(src), in_size - 1);
    const int i1 = i0 + (i0 < in_size - 1 ? 1 : 0);
    t[o] = {offset + i0, offset + i1, src - static_cast<float>(i0)};
  }
  return t;
}

inline void store(float v, float* out) { *out = v * (1.0f / 255.0f); }
inline void store(float v, uint8_t* out) {
  *out = static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
}

template <typename Out>
void render(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip, int size,
            Out* chw) {
  CHECK(box.top >= 0 && box.left >= 0 && box.height >= 1 && box.width >= 1 &&
        box.top + box.height <= height && box.left + box.width <= width)
      << "crop box outside the frame";
  const size_t plane = static_cast<size_t>(size) * size;
  // Identity view: copy, so stored pixels come through bit-exact and fast.
  if (box.height == size && box.width == size && !flip) {
    for (int y = 0; y < size; ++y) {
      const uint8_t* row = hwc + (static_cast<size_t>(box.top + y) * width + box.left) * 3;
      for (int x = 0; x < size; ++x) {
        for (int c = 0; c < 3; ++c) store(row[x * 3 + c], chw + c * plane + y * size + x);
      }
    }
    return;
  }
  const auto ty = taps(box.height, size, box.top);
  auto tx = taps(box.width, size, box.left);
  if (flip) std::reverse(tx.begin(), tx.end());
  // Horizontal pass on the two source rows, then the vertical blend (separable bilinear).
  std::vector<float> r0(static_cast<size_t>(size) * 3), r1(r0.size());
  auto horizontal = [&](int src_row, std::vector<float>& dst) {
    const uint8_t* row = hwc + static_cast<size_t>(src_row) * width * 3;
    for (int x = 0; x < size; ++x) {
      const uint8_t* a = row + tx[x].i0 * 3;
      const uint8_t* b = row + tx[x].i1 * 3;
      const float w1 = tx[x].w1, w0 = 1.0f - w1;
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = w0 * a[c] + w1 * b[c];
    }
  };
  for (int y = 0; y < size; ++y) {
    horizontal(ty[y].i0, r0);
    horizontal(ty[y].i1, r1);
    const float w1 = ty[y].w1, w0 = 1.0f - w1;
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        store(w0 * r0[x * 3 + c] + w1 * r1[x * 3 + c], chw + c * plane + y * size + x);
      }
    }
  }
}

}  // namespace

void render_frame(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip,
                  int size, float* chw_out) {
  render(hwc, height, width, box, flip, size, chw_out);
}

void render_frame(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip,
                  int size, uint8_t* chw_out) {
  render(hwc, height, width, box, flip, size, chw_out);
}

}  // namespace hesp::data
