// DistributedSampler: what every rank reads, checked against sets built independently.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data/loader/sampler.h"
#include "util/errors.h"

namespace hesp::data {
namespace {

SamplerOptions opts(int64_t n, int rank, int world, int64_t batch, bool training, uint64_t seed) {
  SamplerOptions o;
  o.num_clips = n;
  o.rank = rank;
  o.world_size = world;
  o.batch_size = batch;
  o.training = training;
  o.seed = seed;
  return o;
}

TEST(DataSampler, TrainingRanksAreDisjointEqualAndDropOnlyTheTail) {
  const int64_t n = 103, batch = 5;
  const int world = 4;  // Global batch 20: 5 steps, 3 clips dropped.
  std::set<int64_t> seen;
  for (int r = 0; r < world; ++r) {
    DistributedSampler s(opts(n, r, world, batch, true, 7));
    EXPECT_EQ(s.steps_per_epoch(), 5);
    const auto idx = s.epoch_indices(3);
    ASSERT_EQ(idx.size(), 25u);
    for (const auto& b : s.batches(3)) EXPECT_EQ(b.size(), 5u);
    for (int64_t i : idx) {
      EXPECT_TRUE(i >= 0 && i < n);
      EXPECT_TRUE(seen.insert(i).second) << "clip " << i << " read twice";
    }
  }
  EXPECT_EQ(seen.size(), 100u);
  // What was dropped is exactly the permutation's tail.
  const auto perm = DistributedSampler(opts(n, 0, world, batch, true, 7)).epoch_permutation(3);
  for (size_t i = 100; i < perm.size(); ++i) EXPECT_EQ(seen.count(perm[i]), 0u);
  auto sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(n);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
}

TEST(DataSampler, EvaluationReadsEveryClipOnceInRankOrder) {
  for (int world : {1, 2, 3, 4, 7}) {
    const int64_t n = 103;
    std::vector<int64_t> gathered;  // What all_gather_v + concatenation in rank order gives.
    for (int r = 0; r < world; ++r) {
      DistributedSampler s(opts(n, r, world, 8, false, 7));
      const auto idx = s.epoch_indices(5);
      EXPECT_EQ(static_cast<int64_t>(idx.size()), s.clips_per_epoch());
      EXPECT_LE(std::abs(static_cast<long>(idx.size()) - n / world), 1);
      for (const auto& b : s.batches(5)) EXPECT_LE(b.size(), 8u);
      gathered.insert(gathered.end(), idx.begin(), idx.end());
    }
    std::vector<int64_t> iota(n);
    std::iota(iota.begin(), iota.end(), 0);
    EXPECT_EQ(gathered, iota) << "world " << world;
  }
  // More ranks than clips: some ranks read nothing, still each clip once.
  int64_t total = 0;
  for (int r = 0; r < 5; ++r)
    total += DistributedSampler(opts(3, r, 5, 2, false, 0)).clips_per_epoch();
  EXPECT_EQ(total, 3);
}

TEST(DataSampler, OrderIsAFunctionOfSeedAndEpoch) {
  DistributedSampler a(opts(50, 1, 2, 4, true, 11)), b(opts(50, 1, 2, 4, true, 11)),
      c(opts(50, 1, 2, 4, true, 12));
  EXPECT_EQ(a.epoch_indices(2), b.epoch_indices(2));
  EXPECT_NE(a.epoch_indices(2), a.epoch_indices(3));
  EXPECT_NE(a.epoch_indices(2), c.epoch_indices(2));
}

TEST(DataSampler, GlobalBatchesDoNotDependOnTheRankCount) {
  // 2 ranks x 10 and 4 ranks x 5 read the same global batches.
  for (int64_t step = 0; step < 4; ++step) {
    std::set<int64_t> two, four;
    for (int r = 0; r < 2; ++r) {
      for (auto i : DistributedSampler(opts(87, r, 2, 10, true, 3)).batch(1, step)) two.insert(i);
    }
    for (int r = 0; r < 4; ++r) {
      for (auto i : DistributedSampler(opts(87, r, 4, 5, true, 3)).batch(1, step)) four.insert(i);
    }
    EXPECT_EQ(two, four);
    EXPECT_EQ(two.size(), 20u);
  }
}

TEST(DataSampler, ResumeFromAPositionGivesTheRemainingBatches) {
  DistributedSampler s(opts(64, 0, 2, 4, true, 5));
  const auto all = s.batches(4);
  ASSERT_EQ(all.size(), 8u);
  SamplerPosition pos{4, 3};
  const auto rest = s.batches(pos.epoch, pos.step);
  EXPECT_EQ(rest, std::vector<std::vector<int64_t>>(all.begin() + 3, all.end()));
  EXPECT_EQ(s.batch(4, 7), all[7]);
  EXPECT_TRUE(s.batch(4, 8).empty());
  EXPECT_EQ(s.next({4, 6}), (SamplerPosition{4, 7}));
  EXPECT_EQ(s.next({4, 7}), (SamplerPosition{5, 0}));
}

TEST(DataSampler, TooFewClipsForOneGlobalBatchIsAUserError) {
  EXPECT_THROW(DistributedSampler(opts(7, 0, 2, 4, true, 0)), UserError);
}

}  // namespace
}  // namespace hesp::data
