#include "data/loader/sampler.h"

#include <glog/logging.h>

#include <numeric>

#include "data/loader/rng.h"
#include "util/errors.h"

namespace hesp::data {

std::string SamplerPosition::to_string() const {
  return "epoch " + std::to_string(epoch) + " step " + std::to_string(step);
}

DistributedSampler::DistributedSampler(const SamplerOptions& options) : options_(options) {
  CHECK_GE(options_.num_clips, 0);
  CHECK_GE(options_.world_size, 1);
  CHECK_GE(options_.rank, 0);
  CHECK_LT(options_.rank, options_.world_size);
  CHECK_GE(options_.batch_size, 1);
  if (options_.training && steps_per_epoch() == 0) {
    throw UserError(
        "training needs at least one global batch: " + std::to_string(options_.num_clips) +
        " clips < batch size " + std::to_string(options_.batch_size) + " x " +
        std::to_string(options_.world_size) + " ranks");
  }
}

int64_t DistributedSampler::steps_per_epoch() const {
  if (options_.training) {
    return options_.num_clips / (options_.batch_size * options_.world_size);
  }
  return (clips_per_epoch() + options_.batch_size - 1) / options_.batch_size;
}

int64_t DistributedSampler::clips_per_epoch() const {
  if (options_.training) return steps_per_epoch() * options_.batch_size;
  const auto [begin, end] = eval_block();
  return end - begin;
}

std::pair<int64_t, int64_t> DistributedSampler::eval_block() const {
  const int64_t n = options_.num_clips, w = options_.world_size, r = options_.rank;
  return {r * n / w, (r + 1) * n / w};
}

std::vector<int64_t> DistributedSampler::epoch_permutation(int64_t epoch) const {
  std::vector<int64_t> perm(options_.num_clips);
  std::iota(perm.begin(), perm.end(), 0);
  KeyedRng rng(options_.seed, static_cast<uint64_t>(epoch), RngStream::kEpochShuffle, 0);
  // Fisher-Yates, back to front.
  for (int64_t i = options_.num_clips - 1; i > 0; --i) {
    std::swap(perm[i], perm[rng.randint(0, i + 1)]);
  }
  return perm;
}

std::vector<int64_t> DistributedSampler::epoch_indices(int64_t epoch) const {
  std::vector<int64_t> out;
  for (auto& b : batches(epoch)) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<int64_t> DistributedSampler::batch(int64_t epoch, int64_t step) const {
  auto b = batches(epoch, step);
  if (b.empty()) return {};
  return b.front();
}

std::vector<std::vector<int64_t>> DistributedSampler::batches(int64_t epoch,
                                                              int64_t first_step) const {
  CHECK_GE(first_step, 0);
  std::vector<std::vector<int64_t>> out;
  const int64_t steps = steps_per_epoch(), bs = options_.batch_size;
  if (first_step >= steps) return out;
  if (options_.training) {
    const auto perm = epoch_permutation(epoch);
    const int64_t global = bs * options_.world_size;
    for (int64_t s = first_step; s < steps; ++s) {
      const auto begin = perm.begin() + s * global + options_.rank * bs;
      out.emplace_back(begin, begin + bs);
    }
  } else {
    const auto [block_begin, block_end] = eval_block();
    for (int64_t s = first_step; s < steps; ++s) {
      std::vector<int64_t> b;
      for (int64_t i = block_begin + s * bs; i < std::min(block_end, block_begin + (s + 1) * bs);
           ++i) {
        b.push_back(i);
      }
      out.push_back(std::move(b));
    }
  }
  return out;
}

SamplerPosition DistributedSampler::next(SamplerPosition state) const {
  ++state.step;
  if (state.step >= steps_per_epoch()) {
    ++state.epoch;
    state.step = 0;
  }
  return state;
}

}  // namespace hesp::data
