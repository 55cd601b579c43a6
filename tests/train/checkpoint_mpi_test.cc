// Rank 0 decides and broadcasts: each rank is given its OWN run directory, and only rank
// 0's holds checkpoints, so a rank that loaded anything must have received rank 0's
// bytes. Runs as one process and under mpirun -np 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "checkpoint/checkpoint_store.h"
#include "test_support.h"
#include "train/checkpoint_resume.h"
#include "util/errors.h"

namespace hesp::train {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::world;

checkpoint::CheckpointState state_at(int64_t epoch) {
  checkpoint::CheckpointState s;
  s.epoch = epoch;
  s.step = epoch * 100;
  s.config_hash = "cfg";
  s.manifest_fingerprint = "man";
  s.tensors["w"] = torch::arange(12, torch::kFloat64).reshape({3, 4}) * static_cast<double>(epoch);
  s.blobs["cache"] = std::string(1000 + epoch, 'c');
  return s;
}

TEST(CheckpointMpi, SaveOnRootWritesOnlyOnRankZero) {
  auto& c = world();
  TempDir mine;  // A different directory on every rank.
  checkpoint::CheckpointStore store(mine.path(), 2);
  const auto path = store.save_on_root(c, state_at(1));
  EXPECT_EQ(path.filename(), store.path_for(1, 100).filename());
  EXPECT_EQ(std::filesystem::exists(store.path_for(1, 100)), c.rank() == 0);
  c.barrier();
}

TEST(CheckpointMpi, EveryRankLoadsRankZerosChoice) {
  auto& c = world();
  TempDir mine;
  checkpoint::CheckpointStore store(mine.path(), 3);
  if (c.rank() == 0) {
    store.save(state_at(1));
    store.save(state_at(2));
    // Newest damaged: rank 0 falls back to epoch 2 and everyone must follow.
    const auto bad = store.save(state_at(3));
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << "HESPCKPT";
  } else {
    // Other ranks see a newer, valid checkpoint of their own: it must be ignored.
    store.save(state_at(9));
  }
  ResumeRequest r;
  r.config_hash = "cfg";
  r.manifest_fingerprint = "man";
  auto loaded = resolve_resume(c, store, r);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.epoch, 2);
  EXPECT_EQ(loaded->state.step, 200);
  EXPECT_TRUE(torch::equal(loaded->state.tensors.at("w"), state_at(2).tensors.at("w")));
  EXPECT_EQ(loaded->state.blobs.at("cache"), std::string(1002, 'c'));
  // The path is rank 0's.
  const std::string root_path = c.broadcast_string(loaded->path.string(), 0);
  EXPECT_EQ(loaded->path.string(), root_path);
}

TEST(CheckpointMpi, NoneAndErrorsAreCollective) {
  auto& c = world();
  TempDir mine;
  checkpoint::CheckpointStore store(mine.path(), 3);
  if (c.rank() != 0) store.save(state_at(4));  // Only non-root ranks have files.
  EXPECT_FALSE(resolve_resume(c, store, ResumeRequest{}).has_value());

  // Mismatch: every rank throws the same refusal (none hangs in a collective).
  if (c.rank() == 0) store.save(state_at(5));
  ResumeRequest other;
  other.config_hash = "different";
  other.manifest_fingerprint = "man";
  try {
    resolve_resume(c, store, other);
    ADD_FAILURE() << "mismatch accepted on rank " << c.rank();
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("checkpoint config hash cfg"));
  }
  // A damaged explicit file on rank 0 is an error on every rank.
  ResumeRequest explicit_bad;
  explicit_bad.explicit_path = mine.path() / "missing.hespckpt";
  EXPECT_THROW(resolve_resume(c, store, explicit_bad), UserError);
  c.barrier();
}

}  // namespace
}  // namespace hesp::train
