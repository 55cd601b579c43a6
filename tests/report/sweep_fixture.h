#pragma once
// Synthetic sweeps for the report tests: result.json files shaped like the trainer's
// (src/train/trainer.cc), with per-clip scores drawn from seeded normals and every metric
// computed from those clips with src/metrics, so the numbers in a file agree with its clips.
#include <filesystem>
#include <map>
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
  // Openness directories of particular settings (others use openness_dirs).
  std::map<std::string, std::vector<std::string>> setting_openness;
  // result.json "protocol" (as hesp train writes it): the CLIP architecture, and the
  // datasets by setting name (afew -> afew, mafw and mafw_compound -> mafw, fusion -> afew
  // + mafw, others -> the setting's name). record_protocol = false: an older file without.
  std::string clip_architecture = "ViT-B/32";
  bool record_protocol = true;
};

// The paper's protocol on synthetic clips: afew 5:2, 4:3, 3:4, 2:5; mafw 8:3, 6:5, 5:6,
// 3:8; fusion 7:4; mafw_compound 7:9; the four methods; 5 splits; CLIP ViT-B/32.
SweepSpec paper_sweep_spec();

// Overwrites metrics.auroc and metrics.oscr (fractions) of a run's result.json.
void set_metrics(const std::filesystem::path& dir, const FixtureRun& run, double auroc,
                 double oscr);

// Writes every run of `spec` under `dir` (created) and returns their list. `dir` must not
// exist yet or be empty.
std::vector<FixtureRun> write_sweep(const std::filesystem::path& dir, const SweepSpec& spec);

// The result.json path of a run.
std::filesystem::path result_path(const std::filesystem::path& dir, const FixtureRun& run);

// A fresh empty directory under the system temp dir.
std::filesystem::path fresh_dir(const std::string& name);

}  // namespace hesp::report::testing
