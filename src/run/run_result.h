#pragma once
// A finished run's product: <run>/result.json, written once by `hesp train` after the final
// evaluation and read by `hesp predict`, `hesp sweep` (is the run finished? the summary),
// `hesp report` and `hesp summary`. This is the only code that writes or parses the file.
//
// The file is one JSON object whose keys are the members below (same names). Versions:
//   1  every file written before the key "schema_version" existed (no key);
//   2  the current version: "schema_version": 2, and every member that is not a
//      std::optional is present.
// A version-1 file is still read (old run directories still resume, predict and report):
// only method, openness, known_classes, unknown_classes, metrics (auroc, oscr,
// closed_set_accuracy) and clips are required there; a member it lacks keeps its default
// (empty, 0). Every file `hesp train` wrote has all of them but name, config_identity,
// clip_weights, clip_weights_sha256, selection and protocol, which came later.
// Metrics are fractions in [0, 1] (docs/report.md); scores are the method's known-ness
// score (metrics.score: "max_logit" or "msp").
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/errors.h"

namespace hesp::run {

// The version this build writes, and the newest it reads.
inline constexpr int kRunResultSchemaVersion = 2;

// The hard-decision metrics at the unknown threshold t (spec §9): present when training
// scores were given, which `hesp train` always does.
struct ThresholdResult {
  // t: the eval.threshold_percentile-th percentile of the training clips' scores; a clip
  // scoring below t is called unknown (what `hesp predict` applies to new clips).
  double threshold = 0;
  // Fraction of all test clips (known and unknown) whose (K+1)-way prediction is right.
  double open_set_accuracy = 0;
  // Mean F1 over the K+1 classes that occur in the truth or the predictions.
  double macro_f1 = 0;
  // confusion[true][predicted], (K+1) x (K+1) clip counts; row/column K is "unknown".
  std::vector<std::vector<int64_t>> confusion;
};

// result.json "metrics": the open-set metrics of the final evaluation on the test split.
struct RunMetrics {
  std::string score;               // The known-ness score: "max_logit" or "msp".
  int64_t num_known_classes = 0;   // K.
  int64_t n_known = 0;             // Test clips of known classes.
  int64_t n_unknown = 0;           // Test clips of unknown classes.
  double auroc = 0;                // Known = positive; ties count 1/2.
  double oscr = 0;                 // Open-set classification rate (ARPL's compute_oscr).
  double closed_set_accuracy = 0;  // Arg-max of the logits vs the label, known clips only.
  double tnr_at_95tpr = 0;         // Unknown clips rejected at the threshold keeping 95% of known.
  std::optional<ThresholdResult> at_threshold;  // Keys threshold, open_set_accuracy, ...
};

// result.json "selection": which epoch's model the metrics are of (spec §9, model
// selection; docs/configs.md).
struct RunSelection {
  std::string by = "last_epoch";  // "validation" (eval.best_by_validation) or "last_epoch".
  int64_t epoch = 0;              // 1-based.
  // With a validation hold-out: the chosen epoch's closed-set accuracy on it (fraction;
  // with "last_epoch" that of the last evaluation, when there was one), its size in clips
  // and data.validation_fraction.
  std::optional<double> validation_closed_set_accuracy;
  std::optional<int64_t> validation_clips;
  std::optional<double> validation_fraction;
};

// result.json "protocol": what decides whether the numbers are comparable with the paper's
// (`hesp report`, docs/report.md).
struct RunProtocol {
  // The CLIP architecture read off the weights: "ViT-B/32", "tiny", "custom (...)".
  std::string clip_architecture;
  std::vector<std::string> datasets;  // Each manifest's source format ("afew", "mafw").
  std::string train_split;            // data.train_split.
  std::string test_split;             // data.test_split.
};

// One test clip of the final evaluation, in the test split's order.
struct RunClip {
  std::string clip_id;
  int64_t label = 0;       // Index into known_classes; -1 = an unknown class.
  int64_t prediction = 0;  // Arg-max over the known classes.
  double score = 0;        // The known-ness score (metrics.score).
};

struct RunResult {
  // The version of the file this was read from (1 when it had no key); to_json always
  // writes kRunResultSchemaVersion.
  int schema_version = kRunResultSchemaVersion;
  std::string name;    // Experiment.name ("" in files written before it was recorded).
  std::string method;  // config::Method name: "hesp", "clip_zeroshot", ...
  // Identity (run/run_identity.h, docs/training.md "Identity by content"): sha256 (hex)
  // of the effective config's text; the same with the location fields cleared; sha256 of
  // the manifests' content; the CLIP weights path and sha256 of its bytes. What a sweep
  // rerun and `hesp predict` compare. "" where a version-1 file lacks them.
  std::string config_hash;
  std::string config_identity;
  std::string manifest_fingerprint;
  std::string clip_weights;
  std::string clip_weights_sha256;
  int64_t epochs = 0;  // The schedule's total number of epochs.
  int64_t ranks = 0;   // MPI ranks the run's last job trained on.
  // The open-set split: the known classes in label order, the unknown ones, the openness
  // 1 - sqrt(K / (K + U)) and how the split was chosen (for logs and reports).
  std::vector<std::string> known_classes;
  std::vector<std::string> unknown_classes;
  double openness = 0;
  std::string split;
  RunMetrics metrics;
  std::optional<RunSelection> selection;  // Absent in files of an older hesp: last epoch.
  std::optional<RunProtocol> protocol;    // Absent in files of an older hesp.
  std::vector<RunClip> clips;
  // The training clips' known-ness scores (the threshold's sample; the report's histograms).
  std::vector<double> train_scores;
};

// A result.json of a schema version this build does not read (newer than
// kRunResultSchemaVersion, or not a version at all). Distinct from the other UserErrors of
// reading, so that `hesp sweep` stops on it instead of training the run again.
class RunResultVersionError : public UserError {
 public:
  using UserError::UserError;
};

// result.json "metrics" (the keys of RunMetrics; the threshold's only with at_threshold).
nlohmann::json to_json(const RunMetrics& m);

// The JSON of result.json, "schema_version" included. Optional members that are absent are
// left out.
nlohmann::json to_json(const RunResult& r);

// Parses a result.json document. Throws UserError naming `source_for_messages` (the file):
// RunResultVersionError for a schema version newer than kRunResultSchemaVersion ("<file>:
// result.json schema version 7 is newer than this hesp reads (at most 2); update hesp"),
// not an integer or below 1; a plain UserError when it is not an object or a required
// field is missing ("<file>: missing field 'method'", "<file> metrics: missing field
// 'oscr'") or of the wrong type, naming the field.
RunResult run_result_from_json(const nlohmann::json& j,
                               const std::filesystem::path& source_for_messages);

// Reads and parses `file`; throws UserError naming it when it cannot be read or is not
// valid JSON, and as run_result_from_json.
RunResult read_run_result(const std::filesystem::path& file);

// Writes to_json(r) to `file` atomically (util/fs.h atomic_write_file): a reader sees the
// old file or the whole new one, never a half.
void write_run_result(const std::filesystem::path& file, const RunResult& r);

}  // namespace hesp::run
