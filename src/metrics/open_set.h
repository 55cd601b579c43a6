#pragma once
// Every open-set metric of one evaluation (spec §9) from the logits of the known and the
// unknown test clips: AUROC, OSCR, closed-set accuracy, TNR at 95% TPR and, when the
// training scores are given, the hard-decision metrics at the training threshold.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/threshold.h"

namespace hesp::metrics {

// The known-ness score of a row of logits.
enum class ScoreKind {
  kMaxLogit,  // max_k logit_k (the reference implementation's score; default).
  kMsp,       // max_k softmax(logits)_k, softmax in float64.
};

// "max_logit" / "msp"; anything else throws UserError.
ScoreKind parse_score_kind(const std::string& name);
std::string score_kind_name(ScoreKind kind);

// Scores and arg-max predictions (first index among equal maxima) of the rows of a [n, K]
// logit matrix, computed in float64. For kMsp the arg-max is taken over the probabilities,
// as ARPL does when it is given softmax outputs.
struct RowScores {
  std::vector<double> scores;
  std::vector<int64_t> predictions;
};
RowScores score_rows(const torch::Tensor& logits, ScoreKind kind);

struct OpenSetOptions {
  ScoreKind score = ScoreKind::kMaxLogit;
  double threshold_percentile = 5.0;  // t = this percentile of the training scores.
  double target_tpr = 0.95;           // For tnr_at_tpr.
};

struct OpenSetResult {
  ScoreKind score = ScoreKind::kMaxLogit;
  int64_t num_known_classes = 0;
  int64_t n_known = 0;
  int64_t n_unknown = 0;
  double auroc = 0;                // Known = positive, ties 1/2.
  double oscr = 0;                 // ARPL's compute_oscr on the chosen score.
  double closed_set_accuracy = 0;  // Arg-max of the raw logits vs the label.
  double tnr_at_tpr = 0;           // At options.target_tpr (95% by default).
  // Present when training scores were given.
  std::optional<ThresholdMetrics> at_threshold;
};

// known_logits [n, K] and unknown_logits [m, K] (any floating dtype, n, m >= 1),
// known_labels [n] in [0, K). train_scores: the scores (of the same kind) of the training
// clips, for the threshold metrics.
OpenSetResult evaluate_open_set(const torch::Tensor& known_logits,
                                const torch::Tensor& known_labels,
                                const torch::Tensor& unknown_logits,
                                const std::optional<std::vector<double>>& train_scores,
                                const OpenSetOptions& options = {});

}  // namespace hesp::metrics
