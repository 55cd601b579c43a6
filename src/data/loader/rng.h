#pragma once
// The loader's random numbers. Every random choice of the data path (epoch shuffle, frame
// inside a segment, crop, flip) comes from a generator keyed by small integers such as
// (run seed, epoch, clip index), never from a shared stream: a clip's pixels then depend
// only on its key, not on thread timing or on where a resumed run started.
#include <cstdint>
#include <random>

namespace hesp::data {

// Streams keep the shuffle and the per-clip transforms independent for the same numbers.
// kVisualPromptBox: the random_patch prompt's place per clip and epoch (eval/cam_boxes.h).
enum class RngStream : uint64_t {
  kEpochShuffle = 1,
  kClipTransform = 2,
  kValidationHoldOut = 3,
  kVisualPromptBox = 4,
};

class KeyedRng {
 public:
  KeyedRng(uint64_t seed, uint64_t epoch, RngStream stream, uint64_t index);

  // Uniform double in [0, 1) from the top 53 bits (std distributions are
  // implementation-defined; these formulas are ours and stable everywhere).
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi), hi > lo, without modulo bias.
  int64_t randint(int64_t lo, int64_t hi);
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::mt19937_64 engine_;  // Its output sequence is fixed by the C++ standard.
};

// SplitMix64 finaliser: a bijective 64-bit mix used to combine the key parts.
uint64_t mix64(uint64_t x);

}  // namespace hesp::data
