// Checkpoint files and the store: bitwise round trips, keep-last, fallback past damaged
// files, and the compatibility refusal. Single process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_store.h"
#include "run/run_identity.h"
#include "test_support.h"
#include "train/checkpoint_resume.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/torch_compat.h"

namespace hesp::train {
namespace {

using ::testing::HasSubstr;
using testing::LogCapture;
using ::testing::Not;
using testing::TempDir;

// Byte-level equality: catches any change of a float bit pattern (NaN payloads, -0.0)
// that torch::equal would forgive or miss.
bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

checkpoint::CheckpointState sample_state(int64_t epoch, int64_t step) {
  checkpoint::CheckpointState s;
  s.epoch = epoch;
  s.step = step;
  s.scalars["epoch/sum/loss"] = 0.5 * static_cast<double>(step);
  s.config_hash = "cfg" + std::to_string(epoch);
  s.manifest_fingerprint = "man-abc";
  s.config_text = "optim {\n  lr: 0.01\n}\n";
  torch::manual_seed(1234 + epoch);
  s.tensors["prompt.delta"] = torch::randn({3, 5}) * static_cast<float>(epoch + 1);
  s.tensors["momentum.delta"] = torch::randn({3, 5}, torch::kFloat64);
  s.blobs["cam_cache"] = std::string("\0\x01\x02 cache bytes", 15);
  return s;
}

TEST(Checkpoint, RoundTripIsBitwiseForEveryDtypeAndLayout) {
  checkpoint::CheckpointState s;
  s.epoch = 7;
  s.step = 12345;
  s.scalars["epoch/sum/loss"] = 1.0 / 3.0;
  s.scalars["epoch/steps"] = 98765;
  s.config_hash = "h1";
  s.manifest_fingerprint = "m1";
  s.config_text = "a: 1\n";
  torch::manual_seed(7);
  auto f = torch::randn({4, 6});
  f[0][0] = -0.0f;
  f[0][1] = std::numeric_limits<float>::quiet_NaN();
  f[0][2] = std::numeric_limits<float>::denorm_min();
  f[0][3] = -std::numeric_limits<float>::infinity();
  s.tensors["float"] = f;
  s.tensors["float_transposed"] = f.t();  // Non-contiguous.
  s.tensors["double_strided"] = torch::randn({8, 6}, torch::kFloat64).slice(0, 0, 8, 2);
  s.tensors["int64"] = torch::randint(std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(), {5}, torch::kInt64);
  s.tensors["scalar"] = torch::tensor(3.25);
  s.tensors["empty"] = torch::empty({0, 3});
  s.tensors["bf16"] = torch::randn({3}).to(torch::kBFloat16);
  auto gen = at::detail::getDefaultCPUGenerator();
  s.tensors["rng_state"] = compat::cpu_generator_state(gen);  // uint8
  s.blobs["empty_blob"] = "";
  s.blobs["bytes"] = std::string("\xff\x00\x7f", 3);

  const std::string bytes = checkpoint::serialize_checkpoint(s);
  const checkpoint::CheckpointState r = checkpoint::parse_checkpoint(bytes, "memory");
  EXPECT_EQ(r.epoch, 7);
  EXPECT_EQ(r.step, 12345);
  EXPECT_EQ(r.scalars, s.scalars);  // Exact doubles.
  EXPECT_EQ(r.config_hash, "h1");
  EXPECT_EQ(r.manifest_fingerprint, "m1");
  EXPECT_EQ(r.config_text, "a: 1\n");
  ASSERT_EQ(r.tensors.size(), s.tensors.size());
  for (const auto& [name, t] : s.tensors) {
    ASSERT_TRUE(r.tensors.count(name)) << name;
    EXPECT_TRUE(same_bytes(r.tensors.at(name), t)) << name;
    EXPECT_TRUE(r.tensors.at(name).is_contiguous()) << name;
  }
  EXPECT_EQ(r.tensors.at("rng_state").scalar_type(), torch::kUInt8);
  EXPECT_EQ(r.tensors.at("scalar").dim(), 0);
  EXPECT_EQ(r.blobs, s.blobs);
  // A restored generator state reproduces the same random stream.
  const auto expected_draw = torch::randn({4});  // Drawn right after get_state above.
  compat::set_cpu_generator_state(gen, r.tensors.at("rng_state"));
  EXPECT_TRUE(same_bytes(torch::randn({4}), expected_draw));
}

TEST(Checkpoint, ParseRejectsDamage) {
  const std::string good = checkpoint::serialize_checkpoint(sample_state(1, 10));
  ASSERT_NO_THROW(checkpoint::parse_checkpoint(good, "good"));
  // Every single flipped byte is detected (header, metadata or payload).
  for (size_t pos : {size_t{0}, size_t{9}, size_t{17}, size_t{40},
                     checkpoint::kCheckpointHeaderSize + 3, good.size() / 2, good.size() - 1}) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    EXPECT_THROW(checkpoint::parse_checkpoint(bad, "flipped"), UserError) << "flip at " << pos;
  }
  for (size_t len : {size_t{0}, size_t{50}, checkpoint::kCheckpointHeaderSize, good.size() - 1}) {
    try {
      checkpoint::parse_checkpoint(good.substr(0, len), "cut.hespckpt");
      ADD_FAILURE() << "truncation to " << len << " accepted";
    } catch (const UserError& e) {
      EXPECT_THAT(e.what(), HasSubstr("cut.hespckpt"));
    }
  }
  try {
    checkpoint::parse_checkpoint(good + "x", "long.hespckpt");
    ADD_FAILURE() << "trailing garbage accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("size mismatch"));
  }
}

TEST(CheckpointStore, NamesSortAndKeepLast) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), /*keep_last=*/2);
  EXPECT_EQ(store.path_for(3, 45).filename(), "ckpt-000003-0000000045.hespckpt");
  int64_t e = 0, s = 0;
  EXPECT_TRUE(checkpoint::parse_checkpoint_name("ckpt-000003-0000000045.hespckpt", &e, &s));
  EXPECT_EQ(e, 3);
  EXPECT_EQ(s, 45);
  EXPECT_FALSE(checkpoint::parse_checkpoint_name("ckpt-3-45.hespckpt.tmp.12", &e, &s));
  EXPECT_FALSE(checkpoint::parse_checkpoint_name("ckpt-x-45.hespckpt", &e, &s));

  EXPECT_FALSE(store.latest_valid().has_value());
  // Written out of order: the store orders by (epoch, step), not by write time.
  store.save(sample_state(2, 20));
  store.save(sample_state(1, 10));
  EXPECT_EQ(store.list().size(), 2u);
  store.save(sample_state(3, 30));
  auto files = store.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), store.path_for(2, 20).filename());
  EXPECT_EQ(files[1].filename(), store.path_for(3, 30).filename());
  store.save(sample_state(4, 40));
  files = store.list();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].filename(), store.path_for(3, 30).filename());
  EXPECT_FALSE(std::filesystem::exists(store.path_for(2, 20)));
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& p : std::filesystem::directory_iterator(store.directory())) {
    (void)p;
    ++entries;
  }
  EXPECT_EQ(entries, 2);
  auto latest = store.latest_valid();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->state.epoch, 4);
  EXPECT_TRUE(same_bytes(latest->state.tensors.at("prompt.delta"),
                         sample_state(4, 40).tensors.at("prompt.delta")));
}

TEST(CheckpointStore, NumericOrderBeyondPadding) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 0);
  store.save(sample_state(999999, 5));
  store.save(sample_state(1000000, 6));  // Seven digits: sorts wrong as text.
  EXPECT_EQ(store.latest_valid()->state.epoch, 1000000);
}

class DamagedNewest : public ::testing::TestWithParam<std::string> {};

TEST_P(DamagedNewest, FallsBackWithAWarningNamingTheFile) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  store.save(sample_state(1, 10));
  store.save(sample_state(2, 20));
  const auto newest = store.save(sample_state(3, 30));
  std::string bytes = fs::read_file(newest);
  if (GetParam() == "flip") {
    bytes[bytes.size() - 7] ^= 0x01;  // One bit inside the tensor payload.
  } else if (GetParam() == "truncate") {
    bytes.resize(bytes.size() / 2);
  } else {
    bytes.clear();  // A zero-length file (crash before any data reached the disk).
  }
  { std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes; }

  LogCapture warnings;
  auto latest = store.latest_valid();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->state.epoch, 2);
  EXPECT_EQ(latest->path.filename(), store.path_for(2, 20).filename());
  EXPECT_THAT(warnings.text(), HasSubstr("skipping damaged checkpoint " + newest.string()));
  EXPECT_THAT(warnings.text(), Not(HasSubstr(store.path_for(2, 20).string())));
}

INSTANTIATE_TEST_SUITE_P(Kinds, DamagedNewest, ::testing::Values("flip", "truncate", "empty"));

TEST(CheckpointStore, AllDamagedMeansNothingToResume) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  const auto only = store.save(sample_state(1, 10));
  { std::ofstream(only, std::ios::binary | std::ios::trunc) << "HESPCKPT garbage"; }
  LogCapture warnings;
  EXPECT_FALSE(store.latest_valid().has_value());
  EXPECT_THAT(warnings.text(), HasSubstr(only.string()));
}

ResumeRequest request_for(const checkpoint::CheckpointState& s) {
  ResumeRequest r;
  r.config_hash = s.config_hash;
  r.manifest_fingerprint = s.manifest_fingerprint;
  r.config_text = s.config_text;
  return r;
}

TEST(Resume, MismatchIsRefusedNamingHashesAndFieldUnlessForced) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  checkpoint::CheckpointState s = sample_state(5, 50);
  s.config_text =
      "name: \"x\"\noptim {\n  lr: 0.01\n  momentum: 0.9\n}\nschedule {\n  milestones: [30, "
      "60]\n}\n";
  const auto path = store.save(s);
  comm::SingleCommunicator single;

  ResumeRequest same = request_for(s);
  auto loaded = resolve_resume(single, store, same);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.step, 50);
  EXPECT_EQ(loaded->path, path);

  ResumeRequest changed = same;
  changed.config_hash = "cfg-new";
  changed.config_text =
      "name: \"x\"\noptim {\n  lr: 0.02\n  momentum: 0.9\n}\nschedule {\n  milestones: [30, "
      "70]\n}\ntrain {\n  seed: 3\n}\n";
  try {
    resolve_resume(single, store, changed);
    ADD_FAILURE() << "changed config accepted";
  } catch (const UserError& e) {
    EXPECT_EQ(e.exit_code(), kExitConfigError);
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr(path.string()));
    EXPECT_THAT(msg, HasSubstr("checkpoint config hash cfg5"));
    EXPECT_THAT(msg, HasSubstr("current config hash cfg-new"));
    EXPECT_THAT(msg, HasSubstr("optim.lr: 0.01 -> 0.02"));
    EXPECT_THAT(msg, HasSubstr("schedule.milestones: [30, 60] -> [30, 70]"));
    EXPECT_THAT(msg, HasSubstr("train.seed: (unset) -> 3"));
    EXPECT_THAT(msg, Not(HasSubstr("momentum")));
  }

  ResumeRequest other_data = same;
  other_data.manifest_fingerprint = "man-new";
  try {
    resolve_resume(single, store, other_data);
    ADD_FAILURE() << "changed manifest accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("checkpoint manifest fingerprint man-abc"));
    EXPECT_THAT(e.what(), HasSubstr("current manifest fingerprint man-new"));
  }

  changed.force = true;
  LogCapture warnings;
  auto forced = resolve_resume(single, store, changed);
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ(forced->state.epoch, 5);
  EXPECT_THAT(warnings.text(), HasSubstr("optim.lr: 0.01 -> 0.02"));
}

// Identity by content: a config that differs only in where the data and weights are
// resumes when their content is the same (and says so); other weights are refused,
// naming both files and hashes, whatever the paths.
TEST(Resume, SameContentAtANewPathResumesOtherWeightsAreRefused) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  const std::string at_a =
      "name: \"x\"\ndata {\n  manifests: \"/scratch/a/afew\"\n}\nmodel {\n  clip_weights: "
      "\"/scratch/a/w.pt\"\n}\n";
  const std::string at_b =
      "name: \"x\"\ndata {\n  manifests: \"/scratch/b/afew\"\n}\nmodel {\n  clip_weights: "
      "\"/scratch/b/w.pt\"\n}\n";
  checkpoint::CheckpointState s = sample_state(1, 0);
  s.config_text = at_a;
  s.blobs[run::kWeightsHashBlob] = std::string(64, 'a');
  s.blobs[run::kManifestLinesBlob] = "manifest 0 shard s0.h5 clips 4 bytes 10 sha256 11\n";
  const auto path = store.save(s);
  comm::SingleCommunicator single;

  ResumeRequest moved;
  moved.config_hash = "cfg-at-b";
  moved.config_text = at_b;
  moved.config_identity = run::config_identity_of_text(at_b);
  ASSERT_FALSE(moved.config_identity.empty());
  ASSERT_EQ(moved.config_identity, run::config_identity_of_text(at_a));
  moved.manifest_fingerprint = s.manifest_fingerprint;
  moved.manifest_lines = s.blobs[run::kManifestLinesBlob];
  moved.clip_weights_sha256 = std::string(64, 'a');
  {
    LogCapture info(google::GLOG_INFO);
    auto loaded = resolve_resume(single, store, moved);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->path, path);
    EXPECT_THAT(info.text(), HasSubstr("with the same data and CLIP weights at a new path"));
    EXPECT_THAT(info.text(), HasSubstr("/scratch/a/afew"));
    EXPECT_THAT(info.text(), HasSubstr("/scratch/b/afew"));
  }

  ResumeRequest other_weights = moved;
  other_weights.clip_weights_sha256 = std::string(64, 'b');
  try {
    resolve_resume(single, store, other_weights);
    ADD_FAILURE() << "other weights accepted";
  } catch (const UserError& e) {
    EXPECT_EQ(e.exit_code(), kExitConfigError);
    EXPECT_THAT(e.what(), HasSubstr("the CLIP weights changed"));
    EXPECT_THAT(e.what(), HasSubstr("/scratch/a/w.pt (sha256 " + std::string(64, 'a')));
    EXPECT_THAT(e.what(), HasSubstr("/scratch/b/w.pt (sha256 " + std::string(64, 'b')));
    EXPECT_THAT(e.what(), Not(HasSubstr("the config changed")));
  }

  ResumeRequest other_data = moved;
  other_data.manifest_fingerprint = "man-other";
  other_data.manifest_lines = "manifest 0 shard s0.h5 clips 4 bytes 10 sha256 22\n";
  try {
    resolve_resume(single, store, other_data);
    ADD_FAILURE() << "other data accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the data changed"));
    EXPECT_THAT(e.what(), HasSubstr("- manifest 0 shard s0.h5 clips 4 bytes 10 sha256 11"));
    EXPECT_THAT(e.what(), HasSubstr("+ manifest 0 shard s0.h5 clips 4 bytes 10 sha256 22"));
  }

  // A real config change besides the move is still a config change.
  ResumeRequest changed = moved;
  changed.config_text = at_b + "optim {\n  lr: 0.5\n}\n";
  changed.config_identity = run::config_identity_of_text(changed.config_text);
  EXPECT_THROW(resolve_resume(single, store, changed), UserError);
}

TEST(Resume, ExplicitDamagedFileIsAnErrorNotAFallback) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  store.save(sample_state(1, 10));
  const auto second = store.save(sample_state(2, 20));
  { std::ofstream(second, std::ios::binary | std::ios::trunc) << "short"; }
  comm::SingleCommunicator single;
  ResumeRequest r = request_for(sample_state(1, 10));
  r.explicit_path = second;
  try {
    resolve_resume(single, store, r);
    ADD_FAILURE() << "damaged explicit checkpoint accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr(second.string()));
  }
  r.explicit_path.clear();
  EXPECT_EQ(resolve_resume(single, store, r)->state.epoch, 1);
}

TEST(Resume, NothingToResumeFrom) {
  TempDir dir;
  checkpoint::CheckpointStore store(dir.path(), 3);
  comm::SingleCommunicator single;
  EXPECT_FALSE(resolve_resume(single, store, ResumeRequest{}).has_value());
}

TEST(Resume, SaveFailureIsReportedAsUserError) {
  TempDir dir;
  // A regular file where the checkpoint directory should be.
  { std::ofstream(dir.path() / "checkpoints") << "not a directory"; }
  checkpoint::CheckpointStore store(dir.path(), 3);
  comm::SingleCommunicator single;
  EXPECT_THROW(store.save_on_root(single, sample_state(1, 1)), UserError);
}

TEST(ConfigDiff, RepeatedMessagesAndEquality) {
  const std::string a =
      "data {\n  class_map {\n    from: \"a\"\n  }\n  class_map {\n    from: \"b\"\n  }\n}\n";
  const std::string b = "data {\n  class_map {\n    from: \"a\"\n  }\n}\n";
  EXPECT_EQ(describe_config_diff(a, a), "");
  EXPECT_EQ(describe_config_diff(a, b), "  data.class_map.from: \"a\", \"b\" -> \"a\"\n");
  std::string many_a, many_b;
  for (int i = 0; i < 30; ++i) {
    many_a += "f" + std::to_string(100 + i) + ": 1\n";
    many_b += "f" + std::to_string(100 + i) + ": 2\n";
  }
  EXPECT_THAT(describe_config_diff(many_a, many_b, 5), HasSubstr("... and 25 more"));
}

}  // namespace
}  // namespace hesp::train
