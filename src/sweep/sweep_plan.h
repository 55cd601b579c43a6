#pragma once
// A sweep's plan: the sweep config expanded into runs, each with its effective experiment,
// its folder under the output directory and an estimate of its cost. Making the plan
// validates every run against the data before anything trains, so that bad input (an
// unknown setting, an openness the classes cannot give, a splits file naming a missing
// class) fails at once with a message naming the setting and the openness. A run whose
// data fail the preconditions of data/loader/preconditions.h (a test split without
// unknown clips, ...) stays in the plan with its reason in precondition_error: the sweep
// marks it failed at once and trains the others; --dry-run and --list exit 2.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.pb.h"
#include "sweep/sweep_config.pb.h"

namespace hesp::sweep {

struct PlannedRun {
  int index = 0;               // Position in the expansion order (--list, --run-index).
  std::string setting;         // Folder name of the setting.
  std::string method;          // Folder name: method name, "-<variant>" when one is set.
  std::string variant;         // Empty = none.
  int known = 0, unknown = 0;  // K:U.
  double openness = 0;         // 1 - sqrt(K / (K + U)).
  int split = 0;
  uint64_t seed = 0;              // Training seed.
  std::filesystem::path rel_dir;  // <setting>/<method>/<K>-<U>/split<i>[-seed<s>].
  config::Experiment exp;         // What run_training receives.
  std::string config_hash;  // config::config_hash(exp): a finished run's result.json holds it.
  int64_t train_clips = 0;  // Known training clips (0 when the data was not opened).
  int64_t test_clips = 0;
  double cost = 0;  // Estimate: epochs x train clips x method cost + test clips.
  // Why the run cannot train (data::precondition_failure, naming the setting, split,
  // class and counts); empty when its preconditions hold or the data was not opened.
  std::string precondition_error;
};

struct SweepPlan {
  SweepConfig config;
  std::vector<PlannedRun> runs;  // In expansion order.
};

// Runs of `plan` whose preconditions fail, in expansion order.
std::vector<int> failing_preconditions(const SweepPlan& plan);

// Reads a sweep config strictly. Throws ConfigError naming the file.
SweepConfig load_sweep_config(const std::filesystem::path& path);

// Expands `config`. Relative paths resolve against `base_dir` (the sweep file's folder).
// check_data: open every run's manifests and resolve its open-set split (the validation of
// bad input and the clip counts of the estimate); false only to list a plan without data.
// Throws ConfigError / UserError naming the setting, openness and split at fault.
SweepPlan make_plan(const SweepConfig& config, const std::filesystem::path& base_dir,
                    bool check_data = true);

// Epochs the run will train (schedule kind or explicit epochs).
int planned_epochs(const config::Experiment& exp);

// Run indices ordered by decreasing cost (ties: expansion order).
std::vector<int> longest_first(const SweepPlan& plan);

// Parses "K:U". Throws ConfigError naming `where`.
void parse_openness(const std::string& text, const std::string& where, int* known, int* unknown);

}  // namespace hesp::sweep
