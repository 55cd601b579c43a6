#pragma once
// Ranking metrics of an open-set detector: how well a known-ness score separates known
// test clips (positives) from unknown ones (negatives). Everything is float64. Scores are
// compared in the order of score_order.h (NaN above every number), so no result depends on
// the order of the input lists.
#include <vector>

namespace hesp::metrics {

// Area under the ROC curve with known = positive: the probability that a random known
// clip scores above a random unknown one, ties counting 1/2 (the Mann-Whitney U statistic
// with mid-ranks, equal to sklearn's roc_auc_score). O((n+m) log(n+m)).
// Both lists must be non-empty.
double auroc(const std::vector<double>& known_scores, const std::vector<double>& unknown_scores);

// True-negative rate at a true-positive rate of at least `tpr` (default 95%).
// Convention: sort the known scores in descending order; the threshold is the
// ceil(tpr * n)-th of them (1-based), i.e. the highest threshold that keeps at least
// tpr * n known clips at or above it. A clip is predicted known when score >= threshold.
// The result is the fraction of unknown clips strictly below the threshold.
double tnr_at_tpr(const std::vector<double>& known_scores,
                  const std::vector<double>& unknown_scores, double tpr = 0.95);

// The threshold tnr_at_tpr uses (exposed for tests and reports).
double threshold_at_tpr(const std::vector<double>& known_scores, double tpr = 0.95);

}  // namespace hesp::metrics
