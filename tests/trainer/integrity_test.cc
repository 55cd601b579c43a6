// The trainer when training goes wrong or its inputs move (issue 20, kinds 2 and 6):
//  - Divergence: a non-finite loss stops the run at the first non-finite step with
//    kExitDiverged and a message naming epoch, step and the loss term; no result.json,
//    the last good checkpoint kept; on 2 ranks both stop at the same step with the same
//    message. train.non_finite skip_step skips such steps and stops after N in a row.
//  - Identity by content: a resume with the same data and CLIP weights copied to a new
//    path resumes (and says so); other weights or other data at the same path are
//    refused, naming what differs; on 2 ranks too.
// The crash-between-checkpoints logs (kind 7) need a process that dies: run_integrity_test.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint_store.h"
#include "comm/communicator_factory.h"
#include "support/log_capture.h"
#include "support/mpi_gtest.h"
#include "train/preemption.h"
#include "train/trainer.h"
#include "trainer_test_util.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::train {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;
using testing::test_data;
using testing::tiny_run;

comm::Communicator& world_comm() { return *comm::world(); }

stdfs::path fresh_dir(comm::Communicator& c, const std::string& name) {
  const auto dir = test_data(c).root / "integrity" / name;
  if (c.rank() == 0) stdfs::remove_all(dir);
  c.barrier();
  return dir;
}

int train(const config::Experiment& e, const stdfs::path& dir, comm::Communicator& c,
          int max_epochs = 0, bool force = false) {
  TrainOptions o;
  o.run_dir = dir;
  o.threads = 1;
  o.max_epochs_this_run = max_epochs;
  o.force = force;
  PreemptionGuard::clear_flags();
  return run_training(e, o, c);
}

// Runs `fn`, which must throw UserError; returns it (exit code and message).
template <typename Fn>
UserError expect_user_error(Fn fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e;
  }
  ADD_FAILURE() << "no UserError";
  return UserError("(none)");
}

// The newest checkpoint's (epoch, step).
std::pair<int64_t, int64_t> newest_checkpoint(const stdfs::path& run_dir) {
  const auto files = checkpoint::CheckpointStore(run_dir, 0).list();
  if (files.empty()) return {-1, -1};
  int64_t epoch = 0, step = 0;
  EXPECT_TRUE(checkpoint::parse_checkpoint_name(files.back().filename().string(), &epoch, &step));
  return {epoch, step};
}

// A divergent learning rate (case 26 uses 1e6 from the start; from a trained checkpoint
// the tiny model needs more to reach NaN within an epoch).
config::Experiment divergent(config::Experiment e) {
  e.mutable_optim()->set_lr(1e12f);
  return e;
}

// One good epoch (checkpoint at epoch 1), then the divergent rate (forced: the config
// changed) from there. Returns the error of the second leg.
UserError diverge_after_one_good_epoch(const config::Experiment& exp, const stdfs::path& dir,
                                       comm::Communicator& c) {
  EXPECT_EQ(train(exp, dir, c, /*max_epochs=*/1), kExitPreempted);
  return expect_user_error([&] { train(divergent(exp), dir, c, 0, /*force=*/true); });
}

void expect_divergence_stop(const UserError& e, const stdfs::path& dir) {
  EXPECT_EQ(e.exit_code(), kExitDiverged) << e.what();
  const std::string what = e.what();
  EXPECT_THAT(what, HasSubstr("training diverged at epoch 2/3 step "));
  EXPECT_THAT(what, ::testing::ContainsRegex("loss.* = (nan|inf)|gradient of"));
  EXPECT_FALSE(stdfs::exists(dir / "result.json")) << "a diverged run has no result";
  EXPECT_EQ(newest_checkpoint(dir), std::make_pair(int64_t{1}, int64_t{0}))
      << "the last good checkpoint (end of epoch 1) is kept and no later one written";
}

TEST(Trainer, NonFiniteLossStopsNamingEpochStepAndTerm) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const auto exp = tiny_run(test_data(single), config::hesp, 3);
  const auto dir = fresh_dir(single, "diverge1");
  expect_divergence_stop(diverge_after_one_good_epoch(exp, dir, single), dir);
}

TEST(Trainer, TwoRanksStopTogetherOnANonFiniteStep) {
  auto& c = world_comm();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  const auto exp = tiny_run(test_data(c), config::hesp, 3);
  const auto dir = fresh_dir(c, "diverge2");
  const UserError e = diverge_after_one_good_epoch(exp, dir, c);
  // Both ranks stopped at the same step with the same message.
  const std::string mine = e.what();
  EXPECT_EQ(c.broadcast_string(mine, 0), mine) << "rank " << c.rank();
  if (c.rank() == 0) expect_divergence_stop(e, dir);
  c.barrier();
}

TEST(Trainer, SkipStepSkipsNonFiniteStepsAndStopsAfterTooManyInARow) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 3);
  exp.mutable_train()->mutable_non_finite()->set_action(config::NonFiniteConfig::skip_step);
  exp.mutable_train()->mutable_non_finite()->set_max_consecutive_skips(2);
  const auto dir = fresh_dir(single, "skip");
  hesp::testing::LogCapture log;
  const UserError e = diverge_after_one_good_epoch(exp, dir, single);
  EXPECT_EQ(e.exit_code(), kExitDiverged) << e.what();
  EXPECT_THAT(e.what(), HasSubstr("3 non-finite steps in a row"));
  EXPECT_THAT(e.what(), HasSubstr("max_consecutive_skips 2"));
  const std::string text = log.text();
  size_t skipped = 0;
  for (size_t p = 0; (p = text.find("non-finite step skipped", p)) != std::string::npos; ++p) {
    ++skipped;
  }
  EXPECT_GE(skipped, 2u) << "the two allowed skips come before the stop\n" << text;
  EXPECT_FALSE(stdfs::exists(dir / "result.json"));
}

TEST(Trainer, NonFiniteMaxConsecutiveSkipsIsValidated) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 1);
  exp.mutable_train()->mutable_non_finite()->set_max_consecutive_skips(0);
  const auto dir = fresh_dir(single, "skip_invalid");
  const UserError e = expect_user_error([&] { train(exp, dir, single); });
  EXPECT_EQ(e.exit_code(), kExitConfigError);
  EXPECT_THAT(e.what(), HasSubstr("train.non_finite.max_consecutive_skips"));
}

// --- identity by content ---

// Copies the test data and weights to <root>/staged/<name> (rank 0), returns the copy's
// config.
config::Experiment staged(comm::Communicator& c, const config::Experiment& exp,
                          const std::string& name) {
  const auto& d = test_data(c);
  const auto dir = d.root / "staged" / name;
  if (c.rank() == 0) {
    stdfs::remove_all(dir);
    stdfs::create_directories(dir);
    stdfs::copy(d.packed, dir / "packed", stdfs::copy_options::recursive);
    stdfs::copy_file(d.clip_weights, dir / "w.safetensors");
  }
  c.barrier();
  auto e = exp;
  e.mutable_data()->set_manifests(0, (dir / "packed").string());
  e.mutable_model()->set_clip_weights((dir / "w.safetensors").string());
  return e;
}

// Flips one bit of the last float of a safetensors file: same shapes, other values.
void change_one_weight(const std::string& path) {
  std::string bytes = fs::read_file(path);
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x01);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void expect_resumes_at_a_new_path(comm::Communicator& c, const std::string& name) {
  const auto base = tiny_run(test_data(c), config::hesp, 2);
  const auto dir = fresh_dir(c, name);
  const auto first = staged(c, base, name + "_a");
  ASSERT_EQ(train(first, dir, c, /*max_epochs=*/1), kExitPreempted);
  const auto second = staged(c, base, name + "_b");
  if (c.rank() == 0) stdfs::remove_all(test_data(c).root / "staged" / (name + "_a"));
  c.barrier();
  hesp::testing::LogCapture log(google::GLOG_INFO);
  ASSERT_EQ(train(second, dir, c), kExitOk);
  if (c.rank() != 0) return;
  EXPECT_THAT(log.text(), HasSubstr("with the same data and CLIP weights at a new path"));
  EXPECT_THAT(log.text(), HasSubstr("resumed from"));
  const auto result = nlohmann::json::parse(fs::read_file(dir / "result.json"));
  EXPECT_EQ(result["clip_weights"], second.model().clip_weights());
  EXPECT_EQ(result["clip_weights_sha256"].get<std::string>().size(), 64u);
}

TEST(Trainer, SameDataAndWeightsAtANewPathResume) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  expect_resumes_at_a_new_path(single, "moved1");
}

TEST(Trainer, TwoRanksResumeWithTheDataAtANewPath) {
  auto& c = world_comm();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  expect_resumes_at_a_new_path(c, "moved2");
}

TEST(Trainer, OtherWeightsOrOtherDataAreRefusedNamingWhatDiffers) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const auto base = tiny_run(test_data(single), config::hesp, 2);
  const auto dir = fresh_dir(single, "changed_content");
  const auto exp = staged(single, base, "content");
  ASSERT_EQ(train(exp, dir, single, /*max_epochs=*/1), kExitPreempted);
  // Other weights (same shapes) at the same path.
  const std::string weights = exp.model().clip_weights();
  const std::string saved = fs::read_file(weights);
  change_one_weight(weights);
  UserError e = expect_user_error([&] { train(exp, dir, single); });
  EXPECT_EQ(e.exit_code(), kExitConfigError);
  EXPECT_THAT(e.what(), HasSubstr("the CLIP weights changed"));
  EXPECT_THAT(e.what(), HasSubstr(weights));
  EXPECT_THAT(e.what(), ::testing::ContainsRegex("sha256 [0-9a-f]{64}.*sha256 [0-9a-f]{64}"));
  std::ofstream(weights, std::ios::binary | std::ios::trunc) << saved;
  // Other data at the same path: the same clips packed with 3 frames instead of 4.
  const auto packed = exp.data().manifests(0);
  stdfs::remove_all(packed);
  const std::string cmd = "env -i PATH=/usr/bin:/bin " + std::string(HESP_BINARY_DIR) +
                          "/bin/hesp-pack convert --format afew --root " +
                          (test_data(single).root / "synth").string() + " --output " + packed +
                          " --frames-per-clip 3 --size 64 --threads 1 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  e = expect_user_error([&] { train(exp, dir, single); });
  EXPECT_EQ(e.exit_code(), kExitConfigError);
  EXPECT_THAT(e.what(), HasSubstr("the data changed"));
  EXPECT_THAT(e.what(), HasSubstr("changed manifest content"));
  EXPECT_THAT(e.what(), HasSubstr("shard"));
  EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("CLIP weights changed")));
}

}  // namespace
}  // namespace hesp::train
