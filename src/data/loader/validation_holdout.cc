#include "data/loader/validation_holdout.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>

#include "data/loader/rng.h"

namespace hesp::data {

int64_t holdout_count(int64_t clips, double fraction) {
  CHECK(fraction >= 0 && fraction < 1) << "validation fraction " << fraction;
  return static_cast<int64_t>(std::floor(fraction * static_cast<double>(clips) + 0.5));
}

HoldOut split_validation(const Dataset& train, double fraction, uint64_t seed) {
  const size_t k = train.known_classes().size();
  std::vector<std::vector<int64_t>> by_class(k);
  for (const auto& c : train.clips()) {
    CHECK(c.label >= 0 && static_cast<size_t>(c.label) < k)
        << "training clip " << c.clip_id << " has no known label";
    by_class[static_cast<size_t>(c.label)].push_back(c.index);
  }
  HoldOut out;
  for (size_t label = 0; label < k; ++label) {
    auto& ids = by_class[label];
    std::sort(ids.begin(), ids.end(),
              [&](int64_t a, int64_t b) { return train.clip(a).clip_id < train.clip(b).clip_id; });
    KeyedRng rng(seed, 0, RngStream::kValidationHoldOut, label);
    for (int64_t i = static_cast<int64_t>(ids.size()) - 1; i > 0; --i) {
      std::swap(ids[static_cast<size_t>(i)], ids[static_cast<size_t>(rng.randint(0, i + 1))]);
    }
    const auto held =
        static_cast<size_t>(holdout_count(static_cast<int64_t>(ids.size()), fraction));
    out.validation.insert(out.validation.end(), ids.begin(), ids.begin() + held);
    out.train.insert(out.train.end(), ids.begin() + held, ids.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.validation.begin(), out.validation.end());
  return out;
}

}  // namespace hesp::data
