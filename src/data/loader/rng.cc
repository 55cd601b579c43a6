#include "data/loader/rng.h"

#include <glog/logging.h>

namespace hesp::data {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

KeyedRng::KeyedRng(uint64_t seed, uint64_t epoch, RngStream stream, uint64_t index) {
  // Chained mixing: distinct keys give unrelated seeds (a plain XOR of the parts would
  // make (seed, epoch) = (1, 2) and (2, 1) collide).
  uint64_t h = mix64(seed);
  h = mix64(h ^ epoch);
  h = mix64(h ^ static_cast<uint64_t>(stream));
  h = mix64(h ^ index);
  engine_.seed(h);
}

double KeyedRng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

int64_t KeyedRng::randint(int64_t lo, int64_t hi) {
  CHECK_GT(hi, lo);
  const uint64_t range = static_cast<uint64_t>(hi - lo);
  // Rejection sampling: draws at or above the largest multiple of range are redrawn.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % range);
}

}  // namespace hesp::data
