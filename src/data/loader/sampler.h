#pragma once
// Which clips each rank reads, batch by batch.
//
// Training: every epoch is a fresh permutation of all clips, drawn from (seed, epoch).
// The permutation is cut into global batches of batch_size * world_size clips; the tail
// that does not fill a global batch is dropped. Global batch s is
// perm[s*G, (s+1)*G) and rank r takes the contiguous slice [r*B, (r+1)*B) of it, so the
// ranks' sets are disjoint and equal, and the content of a global batch does not depend on
// how many ranks share it (a resume on another rank count with the same global batch sees
// the same global batches).
//
// Evaluation: no shuffle, nothing dropped, every clip exactly once. Rank r reads the
// contiguous block [r*N/W, (r+1)*N/W) in dataset order, in batches of batch_size (the last
// one may be short, and ranks may differ by one clip). The trainer therefore collects
// per-clip outputs with Communicator::all_gather_v and concatenates them in rank order:
// the result is in dataset order, clip index i at row i.
#include <cstdint>
#include <string>
#include <vector>

namespace hesp::data {

// Where a run stands: `step` is the next batch to read within `epoch`. Saved in
// checkpoints; a sampler built with the same options resumes from it exactly.
struct SamplerPosition {
  int64_t epoch = 0;
  int64_t step = 0;
  bool operator==(const SamplerPosition& o) const { return epoch == o.epoch && step == o.step; }
  std::string to_string() const;
};

struct SamplerOptions {
  int64_t num_clips = 0;
  int rank = 0;
  int world_size = 1;
  int64_t batch_size = 1;  // Per rank.
  bool training = true;    // Shuffle + drop-last; false = evaluation order.
  uint64_t seed = 0;
};

class DistributedSampler {
 public:
  explicit DistributedSampler(const SamplerOptions& options);

  const SamplerOptions& options() const { return options_; }
  // Batches this rank reads per epoch (training: the same on every rank).
  int64_t steps_per_epoch() const;
  // Clips this rank reads per epoch.
  int64_t clips_per_epoch() const;
  // This rank's clip indices for the whole epoch, in reading order.
  std::vector<int64_t> epoch_indices(int64_t epoch) const;
  // One batch (an empty vector past the end of the epoch).
  std::vector<int64_t> batch(int64_t epoch, int64_t step) const;
  // The batches of an epoch from `first_step` on.
  std::vector<std::vector<int64_t>> batches(int64_t epoch, int64_t first_step = 0) const;
  // The position after `state` (wrapping to the next epoch after the last step).
  SamplerPosition next(SamplerPosition state) const;
  // Evaluation: this rank's block of the dataset, [begin, end).
  std::pair<int64_t, int64_t> eval_block() const;
  // The whole permutation of an epoch (all ranks), as used for training.
  std::vector<int64_t> epoch_permutation(int64_t epoch) const;

 private:
  SamplerOptions options_;
};

}  // namespace hesp::data
