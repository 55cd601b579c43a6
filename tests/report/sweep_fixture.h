#pragma once
// Synthetic sweeps for the report tests: result.json files shaped like the trainer's
// (src/train/trainer.cc), with per-clip scores drawn from seeded normals and every metric
// computed from those clips with src/metrics, so the numbers in a file agree with its clips.
#include <filesystem>
#include <string>
#include <vector>

namespace hesp::report::testing {

struct FixtureRun {
  std::string setting;
  std::string method;
  std::string openness_dir;  // "5-2" style.
  int split = 0;
};

struct SweepSpec {
  std::vector<std::string> settings = {"afew", "mafw"};
  std::vector<std::string> methods = {"hesp", "clip_zeroshot", "hesp_b1", "clip_arpl"};
  std::vector<std::string> openness_dirs = {"5-2", "3-4"};
  int splits = 3;
  int clips_per_class = 6;
  int unknown_clips = 20;
  unsigned seed = 7;
};

// Writes every run of `spec` under `dir` (created) and returns their list. `dir` must not
// exist yet or be empty.
std::vector<FixtureRun> write_sweep(const std::filesystem::path& dir, const SweepSpec& spec);

// The result.json path of a run.
std::filesystem::path result_path(const std::filesystem::path& dir, const FixtureRun& run);

// A fresh empty directory under the system temp dir.
std::filesystem::path fresh_dir(const std::string& name);

}  // namespace hesp::report::testing
