#pragma once
// The layout of a run directory R (`hesp train --run-dir R`, one run of a sweep), in one
// place. What is written there (docs/training.md):
//   R/config.pbtxt          the effective config (file + --set overrides), at start-up
//                           (config::write_effective_config)
//   R/run.lock              the one-writer lock of the run (util/dir_lock.h)
//   R/checkpoints/          the checkpoints (checkpoint/checkpoint_store.h)
//   R/CHECKPOINT_NOW        created by a user: checkpoint at the end of the current step
//   R/cam_cache.tsv         the Grad-CAM boxes of the training clips
//   R/metrics.jsonl         one JSON record per epoch (run/metrics_log.h)
//   R/tb/                   TensorBoard: events.out.tfevents.<unix time>.<host>, one per job
//   R/result.json           the run's product, at the end (run/run_result.h)
//   R/test_features.h5      each test clip's video features, beside result.json
//   R/sweep_status.json     written by `hesp sweep` for a run it trained or failed
#include <filesystem>
#include <utility>

namespace hesp::run {

class RunDirectory {
 public:
  // The result's file name, for code that recognises it by name (the report walking a
  // sweep folder for results).
  static constexpr const char* kResultFile = "result.json";

  explicit RunDirectory(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path config() const;              // config.pbtxt
  std::filesystem::path lock() const;                // run.lock
  std::filesystem::path checkpoints() const;         // checkpoints/
  std::filesystem::path checkpoint_request() const;  // CHECKPOINT_NOW
  std::filesystem::path cam_cache() const;           // cam_cache.tsv
  std::filesystem::path metrics_log() const;         // metrics.jsonl
  std::filesystem::path tensorboard() const;         // tb/
  std::filesystem::path result() const;              // result.json
  std::filesystem::path test_features() const;       // test_features.h5
  std::filesystem::path sweep_status() const;        // sweep_status.json

 private:
  std::filesystem::path root_;
};

}  // namespace hesp::run
