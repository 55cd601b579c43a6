// Percentile convention, hard-decision metrics at the training threshold and the
// confusion matrix, on hand-computed cases.
#include <gtest/gtest.h>

#include "metrics/open_set.h"
#include "metrics/threshold.h"

namespace hesp::metrics {
namespace {

TEST(Percentile, LinearInterpolationLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4, 5], 5) = 1 + 0.2 * (2 - 1).
  EXPECT_DOUBLE_EQ(percentile_linear({5, 3, 1, 4, 2}, 5), 1.2);
  // Sorted [0, 5, 10, 20]: h = 3 * 0.05 = 0.15 -> 0.75; median h = 1.5 -> 7.5.
  EXPECT_DOUBLE_EQ(percentile_linear({10, 0, 5, 20}, 5), 0.75);
  EXPECT_DOUBLE_EQ(percentile_linear({10, 0, 5, 20}, 50), 7.5);
  EXPECT_DOUBLE_EQ(percentile_linear({10, 0, 5, 20}, 0), 0.0);
  EXPECT_DOUBLE_EQ(percentile_linear({10, 0, 5, 20}, 100), 20.0);
  EXPECT_DOUBLE_EQ(percentile_linear({3.5}, 5), 3.5);
}

TEST(Percentile, NinetyFivePercentOfTrainingScoresExceedTheThreshold) {
  std::vector<double> train;
  for (int i = 0; i < 101; ++i) train.push_back(i);  // 0..100: the 5th percentile is 5.
  const double t = unknown_threshold(train);
  EXPECT_DOUBLE_EQ(t, 5.0);
  int above = 0;
  for (double s : train) above += s > t;
  EXPECT_EQ(above, 95);
}

TEST(ThresholdMetrics, HandComputedTwoClassCase) {
  // K = 2, threshold 1. Known: score 5 -> 0 (right), 1 -> 1 (right: >= t stays known),
  // 4 -> 1 (label 0), 0.5 -> unknown (label 0). Unknown: 0.2 -> unknown (right),
  // 3 -> 1, 0.9 -> unknown (right).
  const auto m = threshold_metrics({0, 1, 1, 0}, {0, 1, 0, 0}, {5, 1, 4, 0.5}, {0, 1, 0},
                                   {0.2, 3, 0.9}, 2, 1.0);
  EXPECT_EQ(m.num_classes, 3);
  EXPECT_DOUBLE_EQ(m.threshold, 1.0);
  EXPECT_DOUBLE_EQ(m.open_set_accuracy, 4.0 / 7.0);
  const std::vector<std::vector<int64_t>> confusion{{1, 1, 1}, {0, 1, 0}, {0, 1, 2}};
  EXPECT_EQ(m.confusion, confusion);
  // F1: class 0 = 2/(2+0+2), class 1 = 2/(2+2+0), unknown = 4/(4+1+1).
  EXPECT_NEAR(m.macro_f1, (0.5 + 0.5 + 2.0 / 3.0) / 3.0, 1e-15);
}

TEST(ThresholdMetrics, MacroF1SkipsClassesAbsentFromTruthAndPredictions) {
  // Class 1 never occurs: F1 over classes 0 (4/5) and 2 (2/3).
  EXPECT_NEAR(macro_f1({{2, 0, 0}, {0, 0, 0}, {1, 0, 1}}), (0.8 + 2.0 / 3.0) / 2.0, 1e-15);
  // A class that is predicted but never true has F1 0 and counts.
  EXPECT_NEAR(macro_f1({{1, 1}, {0, 0}}), (2.0 / 3.0 + 0.0) / 2.0, 1e-15);
}

TEST(OpenSet, ThresholdMetricsFromLogitsAndTrainScores) {
  // K = 3; max logits: known 4 (pred 0), 2 (pred 2), 0.5 (pred 1); unknown 3 (pred 1), 1.
  const auto known = torch::tensor({4.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.5, 0.2}).reshape({3, 3});
  const auto labels = torch::tensor({0, 2, 2}, torch::kLong);
  const auto unknown = torch::tensor({0.0, 3.0, 1.0, 1.0, 0.0, -1.0}).reshape({2, 3});
  // Training scores 1..21: 5th percentile = 1 + 20 * 0.05 = 2.
  std::vector<double> train;
  for (int i = 1; i <= 21; ++i) train.push_back(i);
  const auto r = evaluate_open_set(known, labels, unknown, train, {});
  ASSERT_TRUE(r.at_threshold.has_value());
  const auto& m = *r.at_threshold;
  EXPECT_DOUBLE_EQ(m.threshold, 2.0);
  // Known: 4 -> 0 (right), 2 -> 2 (right), 0.5 -> unknown (wrong); unknown: 3 -> 1
  // (wrong), 1 -> unknown (right).
  EXPECT_DOUBLE_EQ(m.open_set_accuracy, 3.0 / 5.0);
  const std::vector<std::vector<int64_t>> confusion{
      {1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 1}, {0, 1, 0, 1}};
  EXPECT_EQ(m.confusion, confusion);
  // F1: class 0 = 1, class 1 = 0 (predicted once, never true), class 2 = 2/3, unknown = 1/2.
  EXPECT_NEAR(m.macro_f1, (1.0 + 0.0 + 2.0 / 3.0 + 0.5) / 4.0, 1e-15);
  EXPECT_DOUBLE_EQ(r.closed_set_accuracy, 2.0 / 3.0);  // The third row predicts 1, not 2.
  // AUROC: known {4, 2, 0.5} vs unknown {3, 1}: 4>3, 4>1, 2>1, 0.5<both -> 3/6.
  EXPECT_DOUBLE_EQ(r.auroc, 0.5);
  // TNR at 95% TPR: all 3 knowns must pass -> t = 0.5, no unknown below it.
  EXPECT_DOUBLE_EQ(r.tnr_at_tpr, 0.0);
}

TEST(OpenSet, MspScoreIsTheMaxSoftmaxProbability) {
  const auto logits = torch::tensor({1.0, 2.0, 3.0, 0.0, 0.0, 0.0}).reshape({2, 3});
  const auto rows = score_rows(logits, ScoreKind::kMsp);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(rows.scores[0], std::exp(3.0) / z, 1e-15);
  EXPECT_NEAR(rows.scores[1], 1.0 / 3.0, 1e-15);
  EXPECT_EQ(rows.predictions[0], 2);
  EXPECT_EQ(rows.predictions[1], 0);  // First index among equal maxima.
  const auto raw = score_rows(logits, ScoreKind::kMaxLogit);
  EXPECT_DOUBLE_EQ(raw.scores[0], 3.0);
  EXPECT_DOUBLE_EQ(raw.scores[1], 0.0);
}

}  // namespace
}  // namespace hesp::metrics
