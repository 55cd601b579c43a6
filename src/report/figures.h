#pragma once
// Standalone SVG figures written by hand (no plotting library): ROC curves, known vs
// unknown score histograms (the paper's Fig. 5) and a (K+1)-class confusion heat map.
// Every figure has axes with ticks, axis labels, a title and a legend, and uses only
// inline attributes, so it renders alone and inside an <img>.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hesp::report {

// ROC points (FPR, TPR) with known = positive: a clip is called known when its score is
// >= the threshold; thresholds sweep every distinct score from high to low, so tied
// scores move both rates at once. Starts at (0, 0), ends at (1, 1). Both lists non-empty.
std::vector<std::pair<double, double>> roc_points(const std::vector<double>& known_scores,
                                                  const std::vector<double>& unknown_scores);

struct RocCurve {
  std::string name;  // Legend text, e.g. "Baseline 2 + HESP (AUROC 85.1)".
  std::vector<std::pair<double, double>> points;
};

// One <polyline> per curve, plus the chance diagonal as a dashed <line>.
std::string roc_svg(const std::string& title, const std::vector<RocCurve>& curves);

// Known and unknown score histograms on shared bins over [min, max] of all scores, each
// normalised to fractions of its own clips so both are comparable.
std::string histogram_svg(const std::string& title, const std::vector<double>& known_scores,
                          const std::vector<double>& unknown_scores, int bins = 20);

// confusion[truth][prediction], labels.size() x labels.size(); cells shaded by the row's
// fraction and printed with their counts.
std::string confusion_svg(const std::string& title, const std::vector<std::string>& labels,
                          const std::vector<std::vector<int64_t>>& confusion);

}  // namespace hesp::report
