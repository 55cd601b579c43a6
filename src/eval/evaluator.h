#pragma once
// Evaluation: every clip of a dataset exactly once across the ranks (each rank a
// contiguous block, in dataset order), forward without gradients, and the per-clip logits
// all-gathered so every rank holds them in dataset order. Metrics follow from those.
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint_format.h"
#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "config/method_traits.h"
#include "data/loader/dataset.h"
#include "metrics/open_set.h"
#include "model/grad_cam.h"
#include "model/hesp_model.h"
#include "run/run_result.h"
#include "run/test_features.h"

namespace hesp::eval {

struct Predictions {
  torch::Tensor logits;    // [N, K] what the score is taken from (see evaluator.cc)
  torch::Tensor labels;    // [N] int64, -1 = unknown class
  torch::Tensor features;  // [N, E] float32 video features F_V (the paper's Fig. 6)
};

// Collective. Reads the run's eval.batch_size, train (seed, bf16_autocast), data (T, S,
// loader threads, prefetch) and prompts.visual.box (the CAM boxes); the score kind from
// eval.score and the model's method traits.
Predictions predict(const config::Experiment& exp, const model::HespModelImpl& model,
                    const data::Dataset& dataset, const model::CamCache& cache,
                    comm::Communicator& comm);

// eval.score, or MSP for a method defined with it (config::MethodTraits::msp_score).
metrics::ScoreKind score_kind(const config::EvalConfig& eval, const config::MethodTraits& traits);

// The open-set metrics of test predictions; train_scores (optional) give the threshold
// (eval.threshold_percentile).
metrics::OpenSetResult evaluate(const config::EvalConfig& eval, const config::MethodTraits& traits,
                                const Predictions& test,
                                const std::optional<std::vector<double>>& train_scores);

// The known-ness scores of predictions (for the threshold and the report's histograms).
std::vector<double> scores_of(const config::EvalConfig& eval, const config::MethodTraits& traits,
                              const Predictions& p);

// result.json's "metrics" (run/run_result.h) of an evaluation; to_json is its JSON, also
// metrics.jsonl's record of a test evaluation.
run::RunMetrics run_metrics(const metrics::OpenSetResult& r);
nlohmann::json to_json(const metrics::OpenSetResult& r);

// Closed-set accuracy of predictions whose clips all have known labels (the validation
// hold-out): the share of rows whose arg-max logit is the label (spec §9). CHECK-fails on
// an unknown (-1) label or no rows.
double closed_set_accuracy(const Predictions& p);

// Best-by-validation model selection (spec §9, eval.best_by_validation): the epoch with the
// best validation closed-set accuracy, the later epoch on ties. Part of the checkpointed
// state (to_json / from_json), so a resumed run chooses as an uninterrupted one.
struct ValidationSelection {
  int64_t epoch = 0;     // 1-based; 0 = nothing observed yet.
  double accuracy = -1;  // Its validation closed-set accuracy.
  // Records epoch `epoch` (1-based) with `accuracy`; true when it becomes the chosen one.
  bool observe(int64_t epoch, double accuracy);
  nlohmann::json to_json() const;
  // Throws UserError naming `source` when `j` is not what to_json writes.
  static ValidationSelection from_json(const nlohmann::json& j, const std::string& source);
};

// A run's model selection (spec §9): given the validation hold-out's predictions (when
// the cadence evaluates it: TrainingCadence, EpochDecision::validate), with
// eval.best_by_validation keeps a copy of the learnable tensors of the chosen epoch, which
// the final evaluation then uses.
class ModelSelector {
 public:
  // Reads eval.best_by_validation and data.validation_fraction. `validation`: the hold-out
  // (RunData::validation), null when there is none. Not owned.
  ModelSelector(const config::EvalConfig& eval, const config::DataConfig& data,
                const data::Dataset* validation);

  // The hold-out's predictions after epoch `epoch` (1-based) with `model`: returns the
  // epoch's metrics.jsonl record {"closed_set_accuracy", "clips", "chosen"}; with
  // best_by_validation, keeps the model's learnable tensors when the epoch becomes the
  // chosen one (the later epoch on ties).
  nlohmann::json observe_epoch(int64_t epoch, const Predictions& validation,
                               const model::HespModelImpl& model);

  // Checkpoint state: tensors "selection/<name>" (the chosen epoch's learnable tensors) and
  // blob "selection". restore() throws UserError naming `path` on a malformed record.
  void save(checkpoint::CheckpointState* state) const;
  void restore(const checkpoint::CheckpointState& state, const std::string& path);

  // Before the final evaluation: loads the chosen epoch's tensors into `model` (with
  // best_by_validation) and returns result.json's "selection": by "validation" or
  // "last_epoch", the epoch, and with a hold-out its closed-set accuracy, clips and
  // data.validation_fraction.
  run::RunSelection choose(model::HespModelImpl& model, int64_t last_epoch);

 private:
  bool best_by_validation_;
  double validation_fraction_;
  const data::Dataset* validation_;
  ValidationSelection best_;
  std::map<std::string, torch::Tensor> best_tensors_;  // The chosen epoch's, on the CPU.
  double last_accuracy_ = -1;                          // Of the latest evaluation.
};

// The features of an evaluation's predictions of `dataset` (its clip ids and labels), for
// run/test_features.h. [N, E] float32 features, N = dataset.size().
run::TestFeatures test_features(const data::Dataset& dataset, const Predictions& p);

}  // namespace hesp::eval
