#pragma once
// <run_dir>/metrics.jsonl: one JSON object per line, flushed per line so that a crash
// loses at most the line being written and `tail -f` / pandas.read_json(lines=True) work
// during the run. Written by rank 0 only. Plus the human progress line with rate and ETA.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace hesp::run {

class MetricsLog {
 public:
  // Opens for appending (a resumed run continues the same file). Throws UserError.
  explicit MetricsLog(const std::filesystem::path& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // `record` must be a JSON object. Throws UserError on a write failure.
  void append(const nlohmann::json& record);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// After a restart (a resume from a checkpoint, or a start over a run that died before its
// first checkpoint): rewrites `path` atomically so that it keeps one record per epoch.
// Keeps the epoch records of epochs <= kept_epochs (1-based `epoch` field) and the records
// without an epoch (earlier restart markers); drops the later epochs' records (written
// after the checkpoint and about to be written again), the "final" records and a line
// left half-written by a crash; then appends `marker`. Returns the number of records
// dropped. A missing or empty file is left alone (returns -1: nothing to restart from).
// Throws UserError on a write failure.
int64_t rewind_metrics_log(const std::filesystem::path& path, int64_t kept_epochs,
                           nlohmann::json marker);

// "1h02m03s", "3m05s", "45s", "2d03h"; "?" for a negative or non-finite value.
std::string format_duration(double seconds);

// Formats "epoch 3/100 step 120/400 | loss 1.2345 lr 0.01 | 12.3 it/s | ETA 1h02m03s".
// The rate is measured from the first step this process ran (a resumed run does not
// count the steps it skipped), the ETA extrapolates it to total_steps.
class ProgressFormatter {
 public:
  ProgressFormatter(int64_t total_steps, int64_t start_step, double start_time_s);

  std::string format(int epoch, int total_epochs, int64_t step_in_epoch, int64_t steps_per_epoch,
                     int64_t global_step, double now_s,
                     const std::vector<std::pair<std::string, double>>& values) const;

  // Steps per second since the start (0 before the first step or time).
  double rate(int64_t global_step, double now_s) const;
  // Seconds left at that rate (-1 when unknown).
  double eta_seconds(int64_t global_step, double now_s) const;

 private:
  int64_t total_steps_;
  int64_t start_step_;
  double start_time_s_;
};

}  // namespace hesp::run
