#include "metrics/ranking.h"

#include "metrics/score_order.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace hesp::metrics {

double auroc(const std::vector<double>& known_scores, const std::vector<double>& unknown_scores) {
  CHECK(!known_scores.empty() && !unknown_scores.empty()) << "auroc needs both classes";
  const size_t n_known = known_scores.size();
  const size_t n = n_known + unknown_scores.size();
  std::vector<double> all(known_scores);
  all.insert(all.end(), unknown_scores.begin(), unknown_scores.end());
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return score_less(all[a], all[b]); });
  // Sum of the (1-based, mid-rank for ties) ranks of the known scores. Each group of equal
  // scores shares the average of its ranks, which makes a known/unknown tie count 1/2.
  double known_rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && score_tied(all[order[j + 1]], all[order[i]])) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t k = i; k <= j; ++k) {
      if (order[k] < n_known) known_rank_sum += mid_rank;
    }
    i = j + 1;
  }
  const double nk = static_cast<double>(n_known);
  const double nu = static_cast<double>(unknown_scores.size());
  return (known_rank_sum - nk * (nk + 1) / 2.0) / (nk * nu);
}

double threshold_at_tpr(const std::vector<double>& known_scores, double tpr) {
  CHECK(!known_scores.empty()) << "threshold_at_tpr needs known scores";
  CHECK(tpr > 0 && tpr <= 1) << "tpr out of (0, 1]: " << tpr;
  std::vector<double> sorted(known_scores);
  std::sort(sorted.begin(), sorted.end(), [](double a, double b) { return score_less(b, a); });
  // The epsilon keeps a product that lands a rounding error above an integer (tpr * n is
  // rarely exact in binary) from asking for one clip more.
  const double want = tpr * static_cast<double>(sorted.size());
  int64_t count = static_cast<int64_t>(std::ceil(want - 1e-9));
  count = std::clamp<int64_t>(count, 1, static_cast<int64_t>(sorted.size()));
  return sorted[static_cast<size_t>(count - 1)];
}

double tnr_at_tpr(const std::vector<double>& known_scores,
                  const std::vector<double>& unknown_scores, double tpr) {
  CHECK(!unknown_scores.empty()) << "tnr_at_tpr needs unknown scores";
  const double t = threshold_at_tpr(known_scores, tpr);
  const auto below = std::count_if(unknown_scores.begin(), unknown_scores.end(),
                                   [t](double s) { return score_less(s, t); });
  return static_cast<double>(below) / static_cast<double>(unknown_scores.size());
}

}  // namespace hesp::metrics
