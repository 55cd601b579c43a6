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

// Round axis ticks ("nice numbers", as plotting libraries choose them): a step of 1, 2 or
// 5 x 10^k giving about `target` intervals, and the range [lo, hi] widened to multiples of
// it. hi <= lo is widened to a unit range.
struct NiceTicks {
  double lo = 0, hi = 1, step = 0.2;
  std::vector<double> values() const;  // lo, lo + step, ..., hi.
  std::string label(double v) const;   // With as many decimals as the step needs.
};
NiceTicks nice_ticks(double lo, double hi, int target = 5);

// One point of interval_figure_svg: a mean with an interval [low, high] and a reference
// value drawn beside it (any of them may be missing).
struct IntervalPoint {
  std::optional<double> mean, low, high, reference;
};

// Groups along the x axis (e.g. "AUROC 5:2"), one slot per series in each group; in a slot
// the series' mean as a filled dot with its interval as a capped whisker, and beside it the
// reference as a hollow diamond of the same colour. values[series][group]; nullopt = "n/a".
// The legend names the series by colour and the two markers by `mean_label` and
// `reference_label`.
std::string interval_figure_svg(
    const std::string& title, const std::string& ylabel, const std::vector<std::string>& groups,
    const std::vector<std::string>& series,
    const std::vector<std::vector<std::optional<IntervalPoint>>>& values,
    const std::string& mean_label, const std::string& reference_label);

}  // namespace hesp::report
