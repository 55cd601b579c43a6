// metrics.jsonl and the progress line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "run/metrics_log.h"
#include "test_support.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::train {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

TEST(MetricsLog, OneFlushedObjectPerLineAndAppendsOnReopen) {
  testing::TempDir dir;
  const auto path = dir.path() / "run" / "metrics.jsonl";
  {
    run::MetricsLog log(path);
    log.append({{"step", 1}, {"loss", 2.5}, {"tag", "line\nbreak"}});
    // Flushed: visible to a reader while the writer is still open.
    auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(lines[0])["loss"], 2.5);
    log.append({{"step", 2}, {"loss", 1.25}});
  }
  {
    run::MetricsLog again(path);  // A resumed run keeps the earlier lines.
    again.append({{"step", 3}, {"eval", {{"auroc", 0.75}}}});
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["tag"], "line\nbreak");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["step"], 2);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["eval"]["auroc"], 0.75);
}

// After a crash between checkpoints: the records past the checkpoint's epoch, the final
// record and a half-written line go, earlier markers stay, one restart marker is added.
TEST(MetricsLog, RewindKeepsOneRecordPerEpochAndMarksTheRestart) {
  testing::TempDir dir;
  const auto path = dir.path() / "metrics.jsonl";
  EXPECT_EQ(run::rewind_metrics_log(path, 2, {{"event", "restart"}}), -1) << "no file: no restart";
  EXPECT_FALSE(std::filesystem::exists(path));
  {
    std::ofstream out(path);
    out << R"({"epoch":1,"loss":3})"
        << "\n"
        << R"({"event":"restart","resumed_at_epoch":0})"
        << "\n"
        << R"({"epoch":2,"loss":2})"
        << "\n"
        << R"({"epoch":3,"loss":1})"
        << "\n"
        << R"({"epoch":3,"final":true,"auroc":0.5})"
        << "\n"
        << R"({"epoch":4,"lo)";  // The crash cut this line.
  }
  EXPECT_EQ(run::rewind_metrics_log(path, 2, {{"event", "restart"}, {"resumed_at_epoch", 2}}), 3);
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["epoch"], 1);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["resumed_at_epoch"], 0);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["epoch"], 2);
  const auto marker = nlohmann::json::parse(lines[3]);
  EXPECT_EQ(marker["event"], "restart");
  EXPECT_EQ(marker["resumed_at_epoch"], 2);
  EXPECT_EQ(marker["dropped_records"], 3);
  // The log then goes on appending.
  run::MetricsLog(path).append({{"epoch", 3}, {"loss", 0.5}});
  EXPECT_EQ(nlohmann::json::parse(lines_of(path).back())["epoch"], 3);
}

TEST(MetricsLog, UnwritableLocationIsAUserError) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_THROW(run::MetricsLog(dir.path() / "file" / "metrics.jsonl"), UserError);
}

TEST(Progress, DurationFormat) {
  EXPECT_EQ(run::format_duration(0), "0s");
  EXPECT_EQ(run::format_duration(45.4), "45s");
  EXPECT_EQ(run::format_duration(185), "3m05s");
  EXPECT_EQ(run::format_duration(3723), "1h02m03s");
  EXPECT_EQ(run::format_duration(2 * 86400 + 3 * 3600 + 59), "2d03h");
  EXPECT_EQ(run::format_duration(-1), "?");
}

TEST(Progress, RateAndEtaFromTheFirstStepThisProcessRan) {
  // Resumed at step 100 of 1100 at t = 1000 s; 50 steps in 10 s -> 5 it/s, 950 left.
  run::ProgressFormatter p(/*total_steps=*/1100, /*start_step=*/100, /*start_time_s=*/1000);
  EXPECT_DOUBLE_EQ(p.rate(150, 1010), 5.0);
  EXPECT_DOUBLE_EQ(p.eta_seconds(150, 1010), 190.0);
  EXPECT_EQ(p.format(3, 20, 50, 55, 150, 1010, {{"loss", 1.5}, {"lr", 0.01}}),
            "epoch 3/20 step 50/55 | loss 1.5 lr 0.01 | 5 it/s | ETA 3m10s");
  EXPECT_THAT(p.format(1, 20, 0, 55, 100, 1000, {}), HasSubstr("ETA ?"));
  EXPECT_DOUBLE_EQ(p.eta_seconds(1100, 2000), 0.0);
}

}  // namespace
}  // namespace hesp::train
