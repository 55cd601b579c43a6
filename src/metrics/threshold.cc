#include "metrics/threshold.h"

#include "metrics/score_order.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>

namespace hesp::metrics {

double percentile_linear(std::vector<double> values, double p) {
  CHECK(!values.empty()) << "percentile of an empty list";
  CHECK(p >= 0 && p <= 100) << "percentile out of [0, 100]: " << p;
  std::sort(values.begin(), values.end(), score_less);
  const double h = static_cast<double>(values.size() - 1) * p / 100.0;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= values.size()) return values.back();
  const double frac = h - static_cast<double>(lo);
  return values[lo] + frac * (values[lo + 1] - values[lo]);
}

double unknown_threshold(const std::vector<double>& train_scores, double percentile) {
  return percentile_linear(train_scores, percentile);
}

double macro_f1(const std::vector<std::vector<int64_t>>& confusion) {
  const size_t c = confusion.size();
  double sum = 0;
  int64_t counted = 0;
  for (size_t k = 0; k < c; ++k) {
    int64_t tp = confusion[k][k], fp = 0, fn = 0;
    for (size_t j = 0; j < c; ++j) {
      if (j == k) continue;
      fn += confusion[k][j];  // True k, predicted j.
      fp += confusion[j][k];  // True j, predicted k.
    }
    const int64_t denom = 2 * tp + fp + fn;
    if (denom == 0) continue;  // Class absent from truth and predictions.
    sum += 2.0 * static_cast<double>(tp) / static_cast<double>(denom);
    ++counted;
  }
  return counted == 0 ? 0.0 : sum / static_cast<double>(counted);
}

ThresholdMetrics threshold_metrics(const std::vector<int64_t>& known_predictions,
                                   const std::vector<int64_t>& known_labels,
                                   const std::vector<double>& known_scores,
                                   const std::vector<int64_t>& unknown_predictions,
                                   const std::vector<double>& unknown_scores,
                                   int64_t num_known_classes, double threshold) {
  CHECK_EQ(known_predictions.size(), known_labels.size());
  CHECK_EQ(known_predictions.size(), known_scores.size());
  CHECK_EQ(unknown_predictions.size(), unknown_scores.size());
  CHECK_GT(num_known_classes, 0);
  const int64_t unknown = num_known_classes;
  ThresholdMetrics m;
  m.threshold = threshold;
  m.num_classes = num_known_classes + 1;
  m.confusion.assign(static_cast<size_t>(m.num_classes),
                     std::vector<int64_t>(static_cast<size_t>(m.num_classes), 0));
  auto decide = [&](int64_t prediction, double score) {
    CHECK(prediction >= 0 && prediction < num_known_classes) << "prediction " << prediction;
    return score_less(score, threshold) ? unknown : prediction;
  };
  int64_t right = 0;
  for (size_t i = 0; i < known_labels.size(); ++i) {
    CHECK(known_labels[i] >= 0 && known_labels[i] < num_known_classes);
    const int64_t p = decide(known_predictions[i], known_scores[i]);
    ++m.confusion[static_cast<size_t>(known_labels[i])][static_cast<size_t>(p)];
    right += p == known_labels[i];
  }
  for (size_t i = 0; i < unknown_scores.size(); ++i) {
    const int64_t p = decide(unknown_predictions[i], unknown_scores[i]);
    ++m.confusion[static_cast<size_t>(unknown)][static_cast<size_t>(p)];
    right += p == unknown;
  }
  const size_t total = known_labels.size() + unknown_scores.size();
  m.open_set_accuracy = total == 0 ? 0.0 : static_cast<double>(right) / static_cast<double>(total);
  m.macro_f1 = macro_f1(m.confusion);
  return m;
}

}  // namespace hesp::metrics
