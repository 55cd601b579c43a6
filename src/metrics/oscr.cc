#include "metrics/oscr.h"

#include "metrics/score_order.h"

#include <glog/logging.h>

#include <algorithm>
#include <numeric>
#include <utility>

namespace hesp::metrics {

double oscr(const std::vector<double>& known_scores, const std::vector<bool>& known_correct,
            const std::vector<double>& unknown_scores) {
  CHECK_EQ(known_scores.size(), known_correct.size());
  CHECK(!known_scores.empty() && !unknown_scores.empty()) << "oscr needs both classes";
  const size_t n_known = known_scores.size();
  const size_t n = n_known + unknown_scores.size();
  std::vector<double> all(known_scores);
  all.insert(all.end(), unknown_scores.begin(), unknown_scores.end());
  // The tie rule: among equal scores, correct knowns (0), wrong knowns (1), unknowns (2).
  std::vector<int> tie_class(n);
  for (size_t i = 0; i < n; ++i) tie_class[i] = i < n_known ? (known_correct[i] ? 0 : 1) : 2;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  // Rows equal in (score, class) are interchangeable in the counts below, so their order
  // (std::sort's, input-dependent) does not matter.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (score_less(all[a], all[b])) return true;
    if (score_less(all[b], all[a])) return false;
    return tie_class[a] < tie_class[b];
  });

  // Suffix counts over sorted positions: correct[k] = #correct knowns in k..n-1,
  // unknown[k] = #unknowns in k..n-1.
  std::vector<double> suffix_correct(n + 1, 0.0), suffix_unknown(n + 1, 0.0);
  for (size_t k = n; k-- > 0;) {
    const size_t idx = order[k];
    const bool is_known = idx < n_known;
    suffix_correct[k] = suffix_correct[k + 1] + ((is_known && known_correct[idx]) ? 1.0 : 0.0);
    suffix_unknown[k] = suffix_unknown[k + 1] + (is_known ? 0.0 : 1.0);
  }
  // (FPR, CCR) points; index n-1 and n stay (0, 0) like ARPL's zero-initialised lists.
  std::vector<std::pair<double, double>> roc(n + 2, {0.0, 0.0});
  const double nk = static_cast<double>(n_known);
  const double nu = static_cast<double>(unknown_scores.size());
  for (size_t k = 0; k + 1 < n; ++k) {
    roc[k] = {suffix_unknown[k] / nu, suffix_correct[k + 1] / nk};
  }
  roc[n + 1] = {1.0, 1.0};
  std::sort(roc.begin(), roc.end(), std::greater<std::pair<double, double>>());
  double area = 0;
  for (size_t j = 0; j + 1 < roc.size(); ++j) {
    const double h = roc[j].first - roc[j + 1].first;
    const double w = (roc[j].second + roc[j + 1].second) / 2.0;
    area += h * w;
  }
  return area;
}

}  // namespace hesp::metrics
