#pragma once
// Metrics of the hard open-set decision: a clip is "unknown" (class K) when its score falls
// below a threshold t fixed from the TRAINING scores, otherwise it gets its closed-set
// prediction. Everything is float64.
#include <cstdint>
#include <vector>

namespace hesp::metrics {

// The p-th percentile (p in [0, 100]) with linear interpolation between order statistics,
// numpy's default ("linear"): sort ascending, h = (n - 1) * p / 100, result =
// x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). Needs n >= 1.
double percentile_linear(std::vector<double> values, double p);

// Threshold from training scores: the score that (100 - p)% of the training clips exceed,
// i.e. percentile_linear(train_scores, p) with p = 5 by default (spec §9).
double unknown_threshold(const std::vector<double>& train_scores, double percentile = 5.0);

struct ThresholdMetrics {
  double threshold = 0;
  // Fraction of all test clips (known and unknown) whose (K+1)-way prediction is right.
  double open_set_accuracy = 0;
  // Mean over classes of F1 = 2TP / (2TP + FP + FN) over the K+1 classes, counting the
  // classes that occur in the truth or in the predictions (sklearn's
  // f1_score(average="macro") on the label union; a class absent from both has no F1).
  double macro_f1 = 0;
  int64_t num_classes = 0;  // K + 1.
  // confusion[true][predicted], (K+1) x (K+1); row/column K is "unknown".
  std::vector<std::vector<int64_t>> confusion;
};

// known_predictions[i] in [0, K): closed-set arg-max of known clip i, known_labels[i] its
// label; a clip whose score is < threshold is predicted unknown (K). Unknown clips are
// right when predicted unknown; for them only the score matters.
ThresholdMetrics threshold_metrics(const std::vector<int64_t>& known_predictions,
                                   const std::vector<int64_t>& known_labels,
                                   const std::vector<double>& known_scores,
                                   const std::vector<int64_t>& unknown_predictions,
                                   const std::vector<double>& unknown_scores,
                                   int64_t num_known_classes, double threshold);

// Macro F1 of a confusion matrix (see ThresholdMetrics::macro_f1).
double macro_f1(const std::vector<std::vector<int64_t>>& confusion);

}  // namespace hesp::metrics
