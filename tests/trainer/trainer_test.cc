// The trainer end to end on a small packed dataset and the tiny fixture CLIP.
//  - Resume equivalence: 4 epochs straight == 2 epochs, stop, resume, a stop mid-epoch,
//    resume again; final learnable tensors and optimiser state bitwise equal.
//  - The epoch records survive stops: a stop on an epoch's last step keeps that epoch's
//    record, a mid-epoch resume logs the means over the whole epoch, and a checkpoint due
//    for two reasons is written once.
//  - Rank equivalence (under mpirun -np 2): 1 rank with batch B == 2 ranks with B/2;
//    final tensors and per-epoch losses to 1e-5 relative.
//  - Corrupt newest checkpoint: the resume falls back to the previous one, warning with
//    the file's name.
//  - A changed config is refused (with the changed field named), --force accepts it.
//  - Training drives the loss down and closed-set accuracy above chance (hesp, hesp_b1).
//  - Validation hold-out (spec §9): the training set shrinks by the fraction; with
//    best_by_validation result.json names the epoch of the best validation accuracy
//    (later on ties) and reports that epoch's test metrics; 1 and 2 ranks choose alike.
//  - Preconditions: a run whose data fail them stops before any epoch (exit 2).
#include <glog/logging.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "checkpoint/checkpoint_store.h"
#include "comm/communicator_factory.h"
#include "data/loader/preconditions.h"
#include "data/loader/validation_holdout.h"
#include "run/run_data.h"
#include "support/log_capture.h"
#include "support/mpi_gtest.h"
#include "train/preemption.h"
#include "train/trainer.h"
#include "trainer_test_util.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/logging.h"
#include "util/torch_compat.h"

namespace hesp::train {
namespace {

namespace stdfs = std::filesystem;
using testing::final_tensors;
using testing::test_data;
using testing::tiny_run;

comm::Communicator& world_comm() { return *comm::world(); }

stdfs::path fresh_dir(comm::Communicator& c, const std::string& name) {
  const auto dir = test_data(c).root / "runs" / name;
  if (c.rank() == 0) stdfs::remove_all(dir);
  c.barrier();
  return dir;
}

// Asks for `action` once, after the step that leads to position `at`.
class ActAtStep final : public StepActionSource {
 public:
  ActAtStep(data::SamplerPosition at, StepAction action) : at_(at), action_(action) {}
  StepAction poll(comm::Communicator&, const data::SamplerPosition& next) override {
    return next == at_ ? action_ : StepAction::kNone;
  }

 private:
  data::SamplerPosition at_;
  StepAction action_;
};

int train(const config::Experiment& e, const stdfs::path& dir, comm::Communicator& c,
          int max_epochs = 0, bool force = false, StepActionSource* actions = nullptr) {
  TrainOptions o;
  o.run_dir = dir;
  o.threads = 1;
  o.max_epochs_this_run = max_epochs;
  o.force = force;
  o.actions = actions;
  PreemptionGuard::clear_flags();
  return run_training(e, o, c);
}

// Steps per epoch of a run on one rank (drop-last batches of the training set).
int64_t steps_per_epoch(const config::Experiment& e) {
  return run::open_run_data(e).train->size() / e.train().global_batch_size();
}

void expect_tensors_equal(const std::map<std::string, torch::Tensor>& a,
                          const std::map<std::string, torch::Tensor>& b, double rtol) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    if (name.rfind("rng/", 0) == 0) continue;
    ASSERT_TRUE(b.count(name)) << name;
    const auto& u = b.at(name);
    if (rtol == 0) {
      EXPECT_TRUE(torch::equal(t, u))
          << name << " differs (max abs diff " << (t - u).abs().max().item<double>() << ")";
    } else {
      const double scale = std::max(1e-12, t.abs().max().item<double>());
      EXPECT_LE((t - u).abs().max().item<double>() / scale, rtol) << name;
    }
  }
}

std::vector<nlohmann::json> metrics_lines(const stdfs::path& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Trainer, ResumeIsBitwiseEqualToAnUninterruptedRun) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP() << "single-process test runs on rank 0";
  const auto exp = tiny_run(test_data(single), config::hesp, 4);
  const auto straight = fresh_dir(single, "straight");
  ASSERT_EQ(train(exp, straight, single), kExitOk);

  const auto resumed = fresh_dir(single, "resumed");
  ASSERT_EQ(train(exp, resumed, single, /*max_epochs=*/2), kExitPreempted);
  // Second leg: a stop after step 1 of epoch 3; the trainer checkpoints mid-epoch.
  ActAtStep stop({2, 1}, StepAction::kCheckpointAndStop);
  const int rc = train(exp, resumed, single, 0, false, &stop);
  ASSERT_EQ(rc, kExitPreempted);
  const auto ckpts = checkpoint::CheckpointStore(resumed, 0).list();
  ASSERT_FALSE(ckpts.empty());
  int64_t epoch = 0, step = 0;
  ASSERT_TRUE(checkpoint::parse_checkpoint_name(ckpts.back().filename().string(), &epoch, &step));
  EXPECT_EQ(epoch, 2) << "the SIGUSR1 checkpoint is inside epoch 3 (0-based 2)";
  EXPECT_GT(step, 0);
  ASSERT_EQ(train(exp, resumed, single), kExitOk);
  expect_tensors_equal(final_tensors(straight), final_tensors(resumed), /*rtol=*/0);
  // The results agree too.
  const auto a = nlohmann::json::parse(fs::read_file(straight / "result.json"));
  const auto b = nlohmann::json::parse(fs::read_file(resumed / "result.json"));
  EXPECT_EQ(a["metrics"], b["metrics"]);
  EXPECT_EQ(a["clips"], b["clips"]);
}

// The loss records of metrics.jsonl by epoch (1-based); fails on a duplicate.
std::map<int, nlohmann::json> epoch_records(const stdfs::path& dir) {
  std::map<int, nlohmann::json> out;
  for (const auto& l : metrics_lines(dir)) {
    if (!l.contains("loss")) continue;
    EXPECT_TRUE(out.emplace(l["epoch"].get<int>(), l).second)
        << "two records of epoch " << l["epoch"];
  }
  return out;
}

TEST(Trainer, StopOnAnEpochsLastStepKeepsThatEpochsRecord) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const auto exp = tiny_run(test_data(single), config::hesp, 3);
  const auto dir = fresh_dir(single, "stop_last_step");
  ActAtStep stop({0, steps_per_epoch(exp)}, StepAction::kCheckpointAndStop);
  ASSERT_EQ(train(exp, dir, single, 0, false, &stop), kExitPreempted);
  ASSERT_EQ(train(exp, dir, single), kExitOk);
  const auto records = epoch_records(dir);
  ASSERT_EQ(records.size(), 3u);
  for (int e = 1; e <= 3; ++e) EXPECT_TRUE(records.count(e)) << "no record of epoch " << e;
}

TEST(Trainer, MidEpochResumeLogsTheWholeEpochsMeans) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const auto exp = tiny_run(test_data(single), config::hesp, 2);
  ASSERT_GE(steps_per_epoch(exp), 3);
  const auto straight = fresh_dir(single, "means_straight");
  ASSERT_EQ(train(exp, straight, single), kExitOk);
  const auto resumed = fresh_dir(single, "means_resumed");
  ActAtStep stop({1, 2}, StepAction::kCheckpointAndStop);
  ASSERT_EQ(train(exp, resumed, single, 0, false, &stop), kExitPreempted);
  ASSERT_EQ(train(exp, resumed, single), kExitOk);
  const auto a = epoch_records(straight), b = epoch_records(resumed);
  ASSERT_TRUE(a.count(2) && b.count(2));
  for (const auto& [k, v] : a.at(2).items()) {
    if (k != "loss" && k.rfind("loss/", 0) != 0) continue;
    ASSERT_TRUE(b.at(2).contains(k)) << k;
    // The same steps summed in the same order: equal up to the last bits.
    EXPECT_DOUBLE_EQ(v.get<double>(), b.at(2)[k].get<double>()) << k;
  }
}

TEST(Trainer, ACheckpointDueForTwoReasonsIsWrittenOnce) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 3);
  exp.mutable_checkpoint()->set_every_epochs(1);
  const auto dir = fresh_dir(single, "checkpoint_once");
  hesp::testing::LogCapture log(google::GLOG_INFO);
  // Epoch 1 is a checkpoint.every_epochs epoch and the last of --max-epochs-this-run 1;
  // a checkpoint request on its last step is a third reason.
  ActAtStep request({0, steps_per_epoch(exp)}, StepAction::kCheckpoint);
  ASSERT_EQ(train(exp, dir, single, /*max_epochs=*/1, false, &request), kExitPreempted);
  const std::string text = log.text();
  size_t written = 0;
  for (size_t at = text.find("checkpoint written: "); at != std::string::npos;
       at = text.find("checkpoint written: ", at + 1)) {
    ++written;
  }
  EXPECT_EQ(written, 1u) << text;
}

TEST(Trainer, TwoRanksEqualOneRankWithTheWholeBatch) {
  auto& c = world_comm();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  auto exp = tiny_run(test_data(c), config::hesp, 2);
  // Plain SGD: the normalised step (spec §8) divides by the gradient's norm, which lifts the
  // ranks' float32 rounding differences to ~2e-5 of the tensors after 10 steps; this test
  // pins the distributed arithmetic at 1e-5.
  exp.mutable_optim()->set_normalized_step(false);
  const auto one = fresh_dir(c, "one_rank");
  if (c.rank() == 0) {
    comm::SingleCommunicator single;
    ASSERT_EQ(train(exp, one, single), kExitOk);
  }
  c.barrier();
  const auto two = fresh_dir(c, "two_ranks");
  ASSERT_EQ(train(exp, two, c), kExitOk);
  if (c.rank() != 0) return;
  expect_tensors_equal(final_tensors(one), final_tensors(two), 1e-5);
  const auto m1 = metrics_lines(one), m2 = metrics_lines(two);
  ASSERT_EQ(m1.size(), m2.size());
  for (size_t i = 0; i < m1.size(); ++i) {
    if (!m1[i].contains("loss")) continue;
    const double a = m1[i]["loss"], b = m2[i]["loss"];
    EXPECT_NEAR(a, b, 1e-5 * std::abs(a)) << "epoch line " << i;
    // Throughput fields: samples/s is the global batch over the measured step time.
    const auto& r = m2[i];
    ASSERT_TRUE(r.contains("samples_per_s") && r.contains("step_s") && r.contains("peak_rss_mib"))
        << r.dump();
    EXPECT_GT(r["step_s"].get<double>(), 0);
    EXPECT_NEAR(r["samples_per_s"].get<double>() * r["step_s"].get<double>(),
                exp.train().global_batch_size(), 1e-6 * exp.train().global_batch_size());
    EXPECT_GT(r["peak_rss_mib"].get<double>(), 10.0) << "a LibTorch process holds more than 10 MiB";
    for (const char* f : {"data_wait_fraction", "allreduce_fraction"}) {
      EXPECT_GE(r[f].get<double>(), 0.0) << f;
      EXPECT_LT(r[f].get<double>(), 1.0) << f;
    }
  }
}

TEST(Trainer, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const auto exp = tiny_run(test_data(single), config::hesp, 3);
  const auto dir = fresh_dir(single, "corrupt");
  ASSERT_EQ(train(exp, dir, single, /*max_epochs=*/2), kExitPreempted);
  auto files = checkpoint::CheckpointStore(dir, 0).list();
  ASSERT_GE(files.size(), 2u);
  const auto newest = files.back();
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(stdfs::file_size(newest) / 2));
    char ch = 0;
    f.read(&ch, 1);
    f.seekp(static_cast<std::streamoff>(stdfs::file_size(newest) / 2));
    ch = static_cast<char>(ch ^ 0x5a);
    f.write(&ch, 1);
  }
  hesp::testing::LogCapture warnings;
  const int rc = train(exp, dir, single);
  ASSERT_EQ(rc, kExitOk);
  EXPECT_NE(warnings.text().find(newest.filename().string()), std::string::npos) << warnings.text();
  // The resume started from epoch 1's checkpoint, so epoch 2 ran again: its first record
  // was dropped at the restart (one record per epoch), and a restart marker says so.
  int epoch2 = 0;
  bool marker = false;
  for (const auto& l : metrics_lines(dir)) {
    epoch2 += l.value("epoch", 0) == 2 && l.contains("loss");
    marker = marker || (l.value("event", "") == "restart" && l.value("resumed_at_epoch", 0) == 1 &&
                        l.value("dropped_records", 0) == 1);
  }
  EXPECT_EQ(epoch2, 1);
  EXPECT_TRUE(marker) << "no restart marker at epoch 1 that dropped epoch 2's first record";
}

// The message of the ConfigError `f` throws; "(no error)" when it throws none.
template <typename F>
std::string config_error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Trainer, UnavailableDeviceIsAConfigErrorNamingTheField) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 1);
  exp.mutable_train()->set_bf16_autocast(true);  // On the CPU: refused.
  EXPECT_THAT(config_error_of([&] { train(exp, fresh_dir(single, "bf16_cpu"), single); }),
              ::testing::HasSubstr("train.bf16_autocast"));
  if (compat::cuda_device_count() > 0) GTEST_SKIP() << "a GPU is visible: cuda is available";
  exp.mutable_train()->set_device(config::TrainConfig::cuda);
  EXPECT_THAT(config_error_of([&] { train(exp, fresh_dir(single, "cuda"), single); }),
              ::testing::HasSubstr("train.device: cuda"));
}

TEST(Trainer, SplitNamesSeparatedByCommasAreUnited) {
  // Fusion of datasets packed with their own split names: data.train_split may list
  // several ("Train_AFEW,set_1/train").
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 1);
  const auto train_only = run::open_run_data(exp);
  exp.mutable_data()->set_test_split("Val_AFEW");
  exp.mutable_data()->set_train_split("Train_AFEW,Val_AFEW");
  const auto both = run::open_run_data(exp);
  // Known-class clips of both splits; the unknown ones stay out of training.
  int64_t val_known = 0;
  for (const auto& c : train_only.test->clips()) val_known += c.label >= 0;
  EXPECT_EQ(both.train->size(), train_only.train->size() + val_known);
  exp.mutable_data()->set_train_split("Train_AFEW,");
  EXPECT_THAT(config_error_of([&] { run::open_run_data(exp); }),
              ::testing::HasSubstr("data.train_split"));
}

TEST(Trainer, ChangedConfigIsRefusedUnlessForced) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 2);
  const auto dir = fresh_dir(single, "mismatch");
  ASSERT_EQ(train(exp, dir, single, 1), kExitPreempted);
  exp.mutable_optim()->set_lr(0.5f);
  try {
    train(exp, dir, single);
    FAIL() << "a changed config must be refused";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("optim.lr"), std::string::npos) << e.what();
  }
  EXPECT_EQ(train(exp, dir, single, 0, /*force=*/true), kExitOk);
}

TEST(Trainer, HespAndHespB1LearnTheSyntheticClasses) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  for (auto method : {config::hesp, config::hesp_b1}) {
    auto exp = tiny_run(test_data(single), method, 8);
    exp.mutable_optim()->set_lr(0.05f);
    const auto dir = fresh_dir(single, std::string("learn_") + config::Method_Name(method));
    ASSERT_EQ(train(exp, dir, single), kExitOk);
    const auto lines = metrics_lines(dir);
    double first = -1, last = -1;
    for (const auto& l : lines) {
      if (!l.contains("loss")) continue;
      if (first < 0) first = l["loss"];
      last = l["loss"];
    }
    EXPECT_LT(last, 0.8 * first) << config::Method_Name(method);
    const auto result = nlohmann::json::parse(fs::read_file(dir / "result.json"));
    // 5 known classes: chance is 0.2.
    EXPECT_GT(result["metrics"]["closed_set_accuracy"].get<double>(), 0.45)
        << config::Method_Name(method) << " " << result["metrics"].dump();
  }
}

// A run with a validation hold-out of a quarter (1 of the 4 training clips per class),
// chosen on validation, evaluated every epoch.
config::Experiment selection_run(const testing::TestData& d, int epochs) {
  auto exp = tiny_run(d, config::hesp, epochs);
  exp.mutable_data()->set_validation_fraction(0.25f);
  exp.mutable_eval()->set_best_by_validation(true);
  exp.mutable_eval()->set_every_epochs(1);
  exp.mutable_optim()->set_lr(0.05f);
  return exp;
}

// The epoch best_by_validation must choose from a run's metrics.jsonl: the best validation
// closed-set accuracy, the later epoch on ties; and every epoch's accuracy.
std::pair<int64_t, std::vector<double>> best_validation_epoch(const stdfs::path& dir) {
  int64_t best = 0;
  double best_acc = -1;
  std::vector<double> accs;
  for (const auto& l : metrics_lines(dir)) {
    if (!l.contains("validation")) continue;
    const double a = l["validation"]["closed_set_accuracy"];
    accs.push_back(a);
    if (a >= best_acc) {
      best_acc = a;
      best = l["epoch"];
    }
  }
  return {best, accs};
}

TEST(Trainer, ValidationHoldOutShrinksTheTrainingSetByTheFraction) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 1);
  const auto all = run::open_run_data(exp);
  EXPECT_EQ(all.validation, nullptr);
  exp.mutable_data()->set_validation_fraction(0.25f);
  const auto held = run::open_run_data(exp);
  ASSERT_NE(held.validation, nullptr);
  std::map<int32_t, int64_t> per_class, held_per_class;
  for (const auto& c : all.train->clips()) ++per_class[c.label];
  for (const auto& c : held.validation->clips()) ++held_per_class[c.label];
  int64_t expected = 0;
  for (const auto& [label, n] : per_class) {
    EXPECT_EQ(held_per_class[label], data::holdout_count(n, 0.25)) << "class " << label;
    expected += data::holdout_count(n, 0.25);
  }
  EXPECT_EQ(held.validation->size(), expected);
  EXPECT_EQ(held.train->size() + held.validation->size(), all.train->size());
  for (const auto& c : held.validation->clips()) {
    EXPECT_EQ(held.train->find(c.clip_id), -1) << c.clip_id << " is trained on and held out";
    EXPECT_NE(all.train->find(c.clip_id), -1) << c.clip_id;
  }
  EXPECT_EQ(held.test->size(), all.test->size()) << "the test set is untouched";
}

TEST(Trainer, BestByValidationReportsTheEpochOfTheBestValidationAccuracy) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  const int epochs = 5;
  const auto exp = selection_run(test_data(single), epochs);
  const auto dir = fresh_dir(single, "best_by_validation");
  ASSERT_EQ(train(exp, dir, single), kExitOk);
  const auto [best, accs] = best_validation_epoch(dir);
  ASSERT_EQ(accs.size(), static_cast<size_t>(epochs)) << "validation every epoch";
  const auto result = nlohmann::json::parse(fs::read_file(dir / "result.json"));
  ASSERT_TRUE(result.contains("selection")) << result.dump().substr(0, 300);
  const auto& sel = result["selection"];
  EXPECT_EQ(sel["by"], "validation");
  EXPECT_EQ(sel["epoch"].get<int64_t>(), best) << sel.dump();
  EXPECT_EQ(sel["validation_closed_set_accuracy"].get<double>(),
            accs[static_cast<size_t>(best - 1)]);
  // The reported test metrics are those of the chosen epoch (logged by that epoch's
  // evaluation; the last epoch's test evaluation is the final one).
  if (best < epochs) {
    for (const auto& l : metrics_lines(dir)) {
      if (l.value("epoch", 0) != best || !l.contains("test")) continue;
      for (const char* m : {"auroc", "oscr", "closed_set_accuracy"}) {
        EXPECT_EQ(result["metrics"][m].get<double>(), l["test"][m].get<double>()) << m;
      }
    }
  }
  // Without best_by_validation the same hold-out is evaluated but the last epoch reported.
  auto last = exp;
  last.mutable_eval()->set_best_by_validation(false);
  const auto dir2 = fresh_dir(single, "last_epoch_with_holdout");
  ASSERT_EQ(train(last, dir2, single), kExitOk);
  const auto r2 = nlohmann::json::parse(fs::read_file(dir2 / "result.json"));
  EXPECT_EQ(r2["selection"]["by"], "last_epoch");
  EXPECT_EQ(r2["selection"]["epoch"].get<int64_t>(), epochs);
  EXPECT_EQ(best_validation_epoch(dir2).second, accs) << "same training, same validation";
}

TEST(Trainer, TwoRanksChooseTheSameEpochOnValidationAsOneRank) {
  auto& c = world_comm();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  const auto exp = selection_run(test_data(c), 4);
  const auto one = fresh_dir(c, "select_one_rank");
  if (c.rank() == 0) {
    comm::SingleCommunicator single;
    ASSERT_EQ(train(exp, one, single), kExitOk);
  }
  c.barrier();
  const auto two = fresh_dir(c, "select_two_ranks");
  ASSERT_EQ(train(exp, two, c), kExitOk);
  if (c.rank() != 0) return;
  const auto r1 = nlohmann::json::parse(fs::read_file(one / "result.json"));
  const auto r2 = nlohmann::json::parse(fs::read_file(two / "result.json"));
  EXPECT_EQ(r1["selection"]["epoch"], r2["selection"]["epoch"]);
  EXPECT_EQ(r1["selection"]["validation_clips"], r2["selection"]["validation_clips"]);
  EXPECT_EQ(best_validation_epoch(one).second, best_validation_epoch(two).second);
}

TEST(Trainer, PreconditionsFailBeforeAnyEpoch) {
  comm::SingleCommunicator single;
  if (world_comm().rank() != 0) GTEST_SKIP();
  auto exp = tiny_run(test_data(single), config::hesp, 2);
  // 10% of 4 clips per class rounds to none: the hold-out would lack every known class.
  exp.mutable_data()->set_validation_fraction(0.1f);
  const auto dir = fresh_dir(single, "preconditions");
  try {
    train(exp, dir, single);
    FAIL() << "a hold-out without clips must fail its preconditions";
  } catch (const data::PreconditionError& e) {
    EXPECT_EQ(e.exit_code(), kExitConfigError);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("data.validation_fraction 0.1"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("training split \"Train_AFEW\""));
  }
  EXPECT_FALSE(stdfs::exists(dir / "metrics.jsonl"));
  EXPECT_TRUE(checkpoint::CheckpointStore(dir, 0).list().empty());
}

}  // namespace
}  // namespace hesp::train

int main(int argc, char** argv) {
  hesp::testing::MpiGtestOptions options;
  // A failed assertion on one rank must not leave the other waiting forever.
  options.before = [](hesp::comm::Communicator& world) {
    world.set_timeouts({/*stall_warning_s=*/30, /*stall_abort_s=*/300, 0});
  };
  options.after = [](hesp::comm::Communicator& world) {
    if (world.rank() == 0 && hesp::train::testing::g_test_data_made) {
      std::error_code ec;
      std::filesystem::remove_all(hesp::train::testing::test_data(world).root, ec);
    }
  };
  return hesp::testing::run_all_tests_on_every_rank(argc, argv, options);
}
