#pragma once
// Standalone SVG figures written by hand (no plotting library): ROC curves, known vs
// unknown score histograms (the paper's Fig. 5) and a (K+1)-class confusion heat map.
// Every figure has axes with ticks, axis labels, a title and a legend, and uses only
// inline attributes, so it renders alone and inside an <img>.
#include <cstdint>
#include <optional>
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

// Grouped bars (the paper's Fig. 3): one group per entry of `groups` on the x axis, one
// bar per series in each group, coloured by series with a legend. values[series][group]
// is (mean, std) or nullopt (no bar; the slot says "n/a"); std > 0 draws a whisker.
struct BarValue {
  double mean = 0;
  double std = 0;
};
std::string grouped_bars_svg(const std::string& title, const std::string& ylabel,
                             const std::vector<std::string>& groups,
                             const std::vector<std::string>& series,
                             const std::vector<std::vector<std::optional<BarValue>>>& values);

// A 2-D scatter plot (the paper's Fig. 6): points[i] = (x, y) coloured by classes[i], an
// index into class_names (the legend, in that order); one <circle> per point.
std::string scatter_svg(const std::string& title,
                        const std::vector<std::pair<double, double>>& points,
                        const std::vector<int>& classes,
                        const std::vector<std::string>& class_names, const std::string& xlabel,
                        const std::string& ylabel);

}  // namespace hesp::report
