#pragma once
// The runs of a sweep directory, as `hesp report` sees them. A sweep lays its runs out as
//   D/<setting>/<method>/<openness>/split<i>/result.json
// where <method> may carry a variant ("hesp-lr2"), <openness> is "K-U" (e.g. "5-2") or the
// openness value itself (e.g. "0.1548"), and split<i> may carry a seed ("split0-seed3");
// `hesp sweep` lists every planned run, finished or not, in D/sweep_summary.json. A run is
// "done" when its result.json exists; a planned run without one is "failed" (status
// "failed", with the sweep's error message) or "missing" (any other status: "pending",
// "interrupted", "missing", or "done"/"finished" whose result.json is gone).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hesp::report {

// One test clip of a finished run.
struct ClipScore {
  std::string clip_id;
  int64_t label = 0;  // -1 = unknown class.
  int64_t prediction = 0;
  double score = 0;
};

// What result.json's "protocol" records of a run (written by hesp train since the report
// compares with the paper): the CLIP architecture by name ("ViT-B/32", "tiny", "custom
// (...)") and each packed dataset's source format ("afew", "mafw") in data.manifests order.
struct RunProtocol {
  std::string clip_architecture;
  std::vector<std::string> datasets;
};

// The parts of a run's result.json (run/run_result.h) a report uses.
struct RunResult {
  std::string method;
  double openness = 0;
  double auroc = 0;
  double oscr = 0;
  double closed_set_accuracy = 0;
  std::vector<std::string> known_classes;
  std::vector<std::string> unknown_classes;
  std::vector<std::vector<int64_t>> confusion;  // (K+1)x(K+1); empty when absent.
  std::vector<ClipScore> clips;
  // The epoch the metrics are of and how it was chosen (result.json "selection"; files
  // written before it existed: the last epoch).
  int64_t selection_epoch = 0;
  bool chosen_on_validation = false;
  std::optional<RunProtocol> protocol;  // Absent in files of an older hesp.
};

enum class RunStatus { kDone, kFailed, kMissing };

// Where a run sits in the sweep layout.
struct RunKey {
  std::string setting;
  std::string method;        // The directory: the method, or "<method>-<variant>".
  std::string openness_dir;  // The directory name ("5-2" or "0.1548").
  double openness = 0;       // Its value; runs are matched on it to 1e-4.
  int split = 0;
  int64_t seed = -1;  // From "split<i>-seed<s>" (sweeps over several seeds); -1 = none.
  // Orders by setting, method, openness (to 1e-4), split, seed.
  bool operator<(const RunKey& o) const;
};

struct Run {
  RunKey key;
  RunStatus status = RunStatus::kMissing;
  std::string error;                // The sweep's message for a failed run.
  std::string sweep_status;         // The summary's word for a run not done ("pending", ...).
  std::optional<RunResult> result;  // Present iff status == kDone.
  std::filesystem::path result_path;
};

// The openness a directory name stands for: "K-U" -> 1 - sqrt(K / (K + U)); a plain
// number is taken as is; anything else -> nullopt.
std::optional<double> openness_of_dir(const std::string& name);

// Reads one result.json (run::read_run_result); throws UserError naming `path` when it is
// unreadable, not JSON, of a newer schema version, lacks (or mistypes) a field, or its
// confusion matrix, labels or scores do not fit its classes.
RunResult load_result(const std::filesystem::path& path);

// Every run under `dir`: the result.json files found in the layout, plus the planned but
// unfinished runs of dir/sweep_summary.json when it exists. `skip` (the report's own
// output directory, if inside `dir`) is not searched. Throws UserError when `dir` is
// missing, holds no result.json at all, or a result.json is malformed or misplaced.
std::vector<Run> load_sweep(const std::filesystem::path& dir,
                            const std::filesystem::path& skip = {});

}  // namespace hesp::report
