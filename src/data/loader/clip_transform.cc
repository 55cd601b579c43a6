#include "data/loader/clip_transform.h"

#include <glog/logging.h>

#include <algorithm>
#include <array>
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
  plan.height = height;
  plan.width = width;
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

std::pair<int64_t, int64_t> map_eval_point_to_view(int64_t row, int64_t col, const ClipPlan& plan,
                                                   int size) {
  CHECK(plan.height > 0 && plan.width > 0 && plan.box.height > 0 && plan.box.width > 0 && size > 0)
      << "a view plan without sizes";
  auto map = [size](int64_t p, int frame_extent, int box_start, int box_extent) {
    const double source = (static_cast<double>(p) + 0.5) * frame_extent / size - 0.5;
    const double view = (source - box_start + 0.5) * size / box_extent - 0.5;
    return static_cast<int64_t>(std::nearbyint(view));
  };
  const int64_t r = map(row, plan.height, plan.box.top, plan.box.height);
  int64_t c = map(col, plan.width, plan.box.left, plan.box.width);
  if (plan.flip) c = size - 1 - c;
  return {r, c};
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
// Bilinear weights are convex, so v is within [0, 255] up to float error: adding 0.5 and
// truncating rounds half up without a libm call per pixel.
inline void store(float v, uint8_t* out) {
  *out = static_cast<uint8_t>(std::min(v + 0.5f, 255.0f));
}

// The HWC -> CHW gathers below read bytes with stride 3, which baseline x86-64 (SSE2)
// cannot vectorise; an AVX2 clone, picked at load time where the CPU has it, can (the
// loader's render step is then ~3x faster). Other compilers/architectures: one version.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HESP_VECTOR_CLONES __attribute__((target_clones("default", "avx2")))
#else
#define HESP_VECTOR_CLONES
#endif

// HWC -> CHW copy of an S x S window. uint8 copies the bytes; float scales them exactly as
// store() does (byte * (1/255)).
HESP_VECTOR_CLONES void transpose_to_planes(const uint8_t* hwc, int width, const CropBox& box,
                                            int size, uint8_t* __restrict r, uint8_t* __restrict g,
                                            uint8_t* __restrict b) {
  for (int y = 0; y < size; ++y) {
    const uint8_t* __restrict row = hwc + (static_cast<size_t>(box.top + y) * width + box.left) * 3;
    const size_t o = static_cast<size_t>(y) * size;
    for (int x = 0; x < size; ++x) {
      r[o + x] = row[3 * x];
      g[o + x] = row[3 * x + 1];
      b[o + x] = row[3 * x + 2];
    }
  }
}

HESP_VECTOR_CLONES void transpose_to_planes(const uint8_t* hwc, int width, const CropBox& box,
                                            int size, float* __restrict r, float* __restrict g,
                                            float* __restrict b) {
  constexpr float kScale = 1.0f / 255.0f;  // As store(float, float*).
  for (int y = 0; y < size; ++y) {
    const uint8_t* __restrict row = hwc + (static_cast<size_t>(box.top + y) * width + box.left) * 3;
    const size_t o = static_cast<size_t>(y) * size;
    for (int x = 0; x < size; ++x) {
      r[o + x] = static_cast<float>(row[3 * x]) * kScale;
      g[o + x] = static_cast<float>(row[3 * x + 1]) * kScale;
      b[o + x] = static_cast<float>(row[3 * x + 2]) * kScale;
    }
  }
}

template <typename Out>
void render(const uint8_t* hwc, int height, int width, const CropBox& box, bool flip, int size,
            Out* chw) {
  CHECK(box.top >= 0 && box.left >= 0 && box.height >= 1 && box.width >= 1 &&
        box.top + box.height <= height && box.left + box.width <= width)
      << "crop box outside the frame";
  const size_t plane = static_cast<size_t>(size) * size;
  Out* r = chw;
  Out* g = chw + plane;
  Out* b = chw + 2 * plane;
  // Identity view: a transpose to planes, so stored pixels come through bit-exact and fast.
  if (box.height == size && box.width == size && !flip) {
    transpose_to_planes(hwc, width, box, size, r, g, b);
    return;
  }
  const auto ty = taps(box.height, size, 0);
  auto tx = taps(box.width, size, box.left);
  if (flip) std::reverse(tx.begin(), tx.end());
  // Separable bilinear, as torch computes it: first every crop row resized horizontally
  // into planes (once per source row, however many output rows use it), then each output
  // row blends two of those rows (contiguous, vectorisable).
  thread_local std::vector<float> rows;
  const size_t row_stride = static_cast<size_t>(size);
  const size_t rows_plane = static_cast<size_t>(box.height) * row_stride;
  rows.resize(3 * rows_plane);
  for (int sy = 0; sy < box.height; ++sy) {
    const uint8_t* row = hwc + static_cast<size_t>(box.top + sy) * width * 3;
    float* hr = rows.data() + sy * row_stride;
    for (int x = 0; x < size; ++x) {
      const uint8_t* p0 = row + tx[x].i0 * 3;
      const uint8_t* p1 = row + tx[x].i1 * 3;
      const float w1 = tx[x].w1, w0 = 1.0f - w1;
      hr[x] = w0 * p0[0] + w1 * p1[0];
      hr[rows_plane + x] = w0 * p0[1] + w1 * p1[1];
      hr[2 * rows_plane + x] = w0 * p0[2] + w1 * p1[2];
    }
  }
  for (int c = 0; c < 3; ++c) {
    Out* out = chw + c * plane;
    const float* base = rows.data() + c * rows_plane;
    for (int y = 0; y < size; ++y) {
      const float* a = base + ty[y].i0 * row_stride;
      const float* b1 = base + ty[y].i1 * row_stride;
      const float w1 = ty[y].w1, w0 = 1.0f - w1;
      Out* o = out + static_cast<size_t>(y) * size;
      for (int x = 0; x < size; ++x) store(w0 * a[x] + w1 * b1[x], o + x);
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
