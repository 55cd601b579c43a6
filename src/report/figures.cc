#include "report/figures.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/xml_text.h"

namespace hesp::report {
namespace {

// Distinguishable colours (Okabe-Ito), cycled.
const char* colour(size_t i) {
  static const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                  "#E69F00", "#56B4E9", "#F0E442", "#000000"};
  return palette[i % 8];
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A conservative width estimate of a line of sans-serif text (DejaVu Sans, Chromium's
// default on Debian, averages about 0.6 em; wide capitals reach 0.75 em): layouts reserve
// this much so that no label is cut at the figure's edge.
double text_width(const std::string& text, double font_size) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;  // UTF-8 code points.
  return 0.66 * font_size * static_cast<double>(chars);
}

// A plot area of a fixed-size figure mapping data ranges to pixels.
struct Frame {
  double width = 640, height = 480;
  double left = 70, right = 200, top = 50, bottom = 60;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (width - left - right); }
  double py(double y) const {
    return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom);
  }
};

// Widens the figure (keeping the plot area) so that the title and a right-margin legend
// of these entries fit.
void fit(Frame& f, const std::string& title,
         const std::vector<std::pair<std::string, std::string>>& legend_entries) {
  double longest = 0;
  for (const auto& e : legend_entries) longest = std::max(longest, text_width(e.first, 11));
  const double right = 15 + 26 + longest + 10;
  if (right > f.right) {
    f.width += right - f.right;
    f.right = right;
  }
  f.width = std::max(f.width, text_width(title, 15) + 20);
}

void open_svg(std::ostringstream& s, const Frame& f, const std::string& title) {
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << f.width
    << "\" height=\"" << f.height << "\" viewBox=\"0 0 " << f.width << " " << f.height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<title>" << xml_escape(title) << "</title>\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << f.width << "\" height=\"" << f.height
    << "\" fill=\"white\"/>\n"
    << "<text x=\"" << f.width / 2 << "\" y=\"25\" text-anchor=\"middle\" font-size=\"15\">"
    << xml_escape(title) << "</text>\n";
}

// Axes box, ticks at round values (nice_ticks of the frame's ranges, which callers widen
// to nice limits) with labels, and the axis titles.
void axes(std::ostringstream& s, const Frame& f, const std::string& xlabel,
          const std::string& ylabel) {
  const NiceTicks tx = nice_ticks(f.x0, f.x1), ty = nice_ticks(f.y0, f.y1);
  const auto inside = [](double v, double lo, double hi) {
    const double eps = (hi - lo) * 1e-9;
    return v >= lo - eps && v <= hi + eps;
  };
  s << "<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x1)) << "\" y2=\"" << num(f.py(f.y0)) << "\"/>\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(f.y1)) << "\"/>\n";
  for (double x : tx.values()) {
    if (!inside(x, f.x0, f.x1)) continue;
    s << "<line x1=\"" << num(f.px(x)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
      << num(f.px(x)) << "\" y2=\"" << num(f.py(f.y0) + 5) << "\"/>\n";
  }
  for (double y : ty.values()) {
    if (!inside(y, f.y0, f.y1)) continue;
    s << "<line x1=\"" << num(f.px(f.x0) - 5) << "\" y1=\"" << num(f.py(y)) << "\" x2=\""
      << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(y)) << "\"/>\n";
  }
  s << "</g>\n<g class=\"tick-labels\" fill=\"black\">\n";
  for (double x : tx.values()) {
    if (!inside(x, f.x0, f.x1)) continue;
    s << "<text class=\"x-tick\" x=\"" << num(f.px(x)) << "\" y=\"" << num(f.py(f.y0) + 18)
      << "\" text-anchor=\"middle\">" << tx.label(x) << "</text>\n";
  }
  for (double y : ty.values()) {
    if (!inside(y, f.y0, f.y1)) continue;
    s << "<text class=\"y-tick\" x=\"" << num(f.px(f.x0) - 8) << "\" y=\"" << num(f.py(y) + 4)
      << "\" text-anchor=\"end\">" << ty.label(y) << "</text>\n";
  }
  s << "</g>\n<text x=\"" << num((f.px(f.x0) + f.px(f.x1)) / 2) << "\" y=\"" << num(f.height - 15)
    << "\" text-anchor=\"middle\">" << xml_escape(xlabel) << "</text>\n"
    << "<text transform=\"translate(20 " << num((f.py(f.y0) + f.py(f.y1)) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(ylabel) << "</text>\n";
}

// A legend in the right margin: one swatch and label per entry.
void legend(std::ostringstream& s, const Frame& f,
            const std::vector<std::pair<std::string, std::string>>& entries, bool lines) {
  const double x = f.width - f.right + 15;
  s << "<g class=\"legend\">\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const double y = f.top + 10 + 22.0 * static_cast<double>(i);
    if (lines) {
      s << "<line x1=\"" << num(x) << "\" y1=\"" << num(y) << "\" x2=\"" << num(x + 20)
        << "\" y2=\"" << num(y) << "\" stroke=\"" << entries[i].second
        << "\" stroke-width=\"2.5\"/>\n";
    } else {
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y - 6) << "\" width=\"20\" height=\"12\" "
        << "fill=\"" << entries[i].second << "\" fill-opacity=\"0.6\"/>\n";
    }
    s << "<text x=\"" << num(x + 26) << "\" y=\"" << num(y + 4) << "\" font-size=\"11\">"
      << xml_escape(entries[i].first) << "</text>\n";
  }
  s << "</g>\n";
}

}  // namespace

namespace {

// Heckbert's "nice number" (Graphics Gems, 1990): the 1, 2, 5 or 10 x 10^k nearest x
// (round) or at least x (not round).
double nice_number(double x, bool round) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, e);
  double n;
  if (round) {
    n = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  } else {
    n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  }
  return n * std::pow(10.0, e);
}

}  // namespace

NiceTicks nice_ticks(double lo, double hi, int target) {
  CHECK_GT(target, 0);
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (!(hi > lo)) hi = lo + 1;
  NiceTicks t;
  const double range = nice_number(hi - lo, false);
  t.step = nice_number(range / target, true);
  t.lo = std::floor(lo / t.step + 1e-9) * t.step;
  t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
  return t;
}

std::vector<double> NiceTicks::values() const {
  std::vector<double> v;
  const auto first = static_cast<int64_t>(std::llround(lo / step));
  const auto last = static_cast<int64_t>(std::llround(hi / step));
  for (int64_t k = first; k <= last; ++k) {
    const double x = static_cast<double>(k) * step;
    v.push_back(std::fabs(x) < step * 1e-9 ? 0.0 : x);
  }
  return v;
}

std::string NiceTicks::label(double v) const {
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return buf;
}

std::vector<std::pair<double, double>> roc_points(const std::vector<double>& known_scores,
                                                  const std::vector<double>& unknown_scores) {
  CHECK(!known_scores.empty() && !unknown_scores.empty());
  std::vector<std::pair<double, bool>> all;  // (score, is_known)
  for (double v : known_scores) all.emplace_back(v, true);
  for (double v : unknown_scores) all.emplace_back(v, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const double n_pos = static_cast<double>(known_scores.size());
  const double n_neg = static_cast<double>(unknown_scores.size());
  std::vector<std::pair<double, double>> pts = {{0.0, 0.0}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    for (; j < all.size() && all[j].first == all[i].first; ++j) (all[j].second ? tp : fp) += 1;
    pts.emplace_back(fp / n_neg, tp / n_pos);
    i = j;
  }
  return pts;
}

std::string roc_svg(const std::string& title, const std::vector<RocCurve>& curves) {
  Frame f;
  f.right = 230;
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < curves.size(); ++i) entries.emplace_back(curves[i].name, colour(i));
  fit(f, title, entries);
  std::ostringstream s;
  open_svg(s, f, title);
  axes(s, f, "False positive rate (unknown called known)", "True positive rate (known)");
  s << "<line class=\"chance\" x1=\"" << num(f.px(0)) << "\" y1=\"" << num(f.py(0)) << "\" x2=\""
    << num(f.px(1)) << "\" y2=\"" << num(f.py(1))
    << "\" stroke=\"#999999\" stroke-dasharray=\"4 4\"/>\n";
  for (size_t i = 0; i < curves.size(); ++i) {
    s << "<polyline class=\"roc\" fill=\"none\" stroke=\"" << colour(i)
      << "\" stroke-width=\"2\" points=\"";
    for (size_t k = 0; k < curves[i].points.size(); ++k) {
      s << (k ? " " : "") << num(f.px(curves[i].points[k].first)) << ","
        << num(f.py(curves[i].points[k].second));
    }
    s << "\"/>\n";
  }
  legend(s, f, entries, true);
  s << "</svg>\n";
  return s.str();
}

std::string histogram_svg(const std::string& title, const std::vector<double>& known_scores,
                          const std::vector<double>& unknown_scores, int bins) {
  CHECK_GT(bins, 0);
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : {&known_scores, &unknown_scores}) {
    for (double x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
  }
  if (!(lo < hi)) {  // No scores, or all equal: a unit-wide range around them.
    lo = std::isfinite(lo) ? lo - 0.5 : 0.0;
    hi = lo + 1.0;
  }
  auto fractions = [&](const std::vector<double>& v) {
    std::vector<double> h(static_cast<size_t>(bins), 0.0);
    for (double x : v) {
      const int b = std::min(bins - 1, static_cast<int>((x - lo) / (hi - lo) * bins));
      h[static_cast<size_t>(b)] += 1.0 / static_cast<double>(v.size());
    }
    return h;
  };
  const auto hk = fractions(known_scores), hu = fractions(unknown_scores);
  double top = 0;
  for (size_t b = 0; b < hk.size(); ++b) top = std::max({top, hk[b], hu[b]});
  Frame f;
  // Axes at round limits around the scores and the tallest bar.
  const NiceTicks tx = nice_ticks(lo, hi), ty = nice_ticks(0, top > 0 ? top * 1.05 : 1.0);
  f.x0 = tx.lo, f.x1 = tx.hi, f.y0 = 0, f.y1 = ty.hi;
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"known (" + std::to_string(known_scores.size()) + " clips)", colour(0)},
      {"unknown (" + std::to_string(unknown_scores.size()) + " clips)", colour(1)}};
  fit(f, title, entries);
  std::ostringstream s;
  open_svg(s, f, title);
  axes(s, f, "Score", "Fraction of clips");
  const double w = (hi - lo) / bins;
  for (const auto& [h, c, cls] :
       {std::tuple{&hk, colour(0), "known"}, std::tuple{&hu, colour(1), "unknown"}}) {
    s << "<g class=\"" << cls << "\" fill=\"" << c << "\" fill-opacity=\"0.55\">\n";
    for (int b = 0; b < bins; ++b) {
      const double v = (*h)[static_cast<size_t>(b)];
      if (v <= 0) continue;
      const double x = lo + w * b;
      s << "<rect x=\"" << num(f.px(x)) << "\" y=\"" << num(f.py(v)) << "\" width=\""
        << num(f.px(x + w) - f.px(x)) << "\" height=\"" << num(f.py(0) - f.py(v)) << "\"/>\n";
    }
    s << "</g>\n";
  }
  legend(s, f, entries, false);
  s << "</svg>\n";
  return s.str();
}

std::string confusion_svg(const std::string& title, const std::vector<std::string>& labels,
                          const std::vector<std::vector<int64_t>>& confusion) {
  const size_t n = labels.size();
  CHECK_EQ(confusion.size(), n);
  const double cell = n > 12 ? 28 : 40;
  const std::string legend_title = "share of the true class";
  double label = 0;  // The longest class label.
  for (const auto& l : labels) label = std::max(label, text_width(l, 11));
  // Margins that hold what sits in them: row labels and the rotated "True class" on the
  // left; column labels turned by 60 degrees (height label * sin 60, reaching label / 2
  // to the left of their column) and "Predicted class" below; the colour legend and its
  // title on the right.
  Frame f;
  f.top = 50;
  f.left = std::max({130.0, label + 40, label / 2 + 10});
  f.bottom = std::max(120.0, 8 + label * 0.87 + 45);
  f.right = std::max(140.0, 30 + text_width(legend_title, 11) + 10);
  f.width = f.left + cell * static_cast<double>(n) + f.right;
  f.width = std::max(f.width, text_width(title, 15) + 20);
  f.height = f.top + cell * static_cast<double>(n) + f.bottom;
  std::ostringstream s;
  open_svg(s, f, title);
  s << "<g class=\"cells\" stroke=\"#cccccc\">\n";
  for (size_t r = 0; r < n; ++r) {
    CHECK_EQ(confusion[r].size(), n);
    int64_t row_total = 0;
    for (int64_t v : confusion[r]) row_total += v;
    for (size_t c = 0; c < n; ++c) {
      const double frac =
          row_total ? static_cast<double>(confusion[r][c]) / static_cast<double>(row_total) : 0.0;
      // White (0) to dark blue (1) by the fraction of the true class's clips.
      const int red = static_cast<int>(std::lround(255 - 247 * frac));
      const int green = static_cast<int>(std::lround(255 - 207 * frac));
      const int blue = static_cast<int>(std::lround(255 - 148 * frac));
      const double x = f.left + cell * static_cast<double>(c);
      const double y = f.top + cell * static_cast<double>(r);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(cell)
        << "\" height=\"" << num(cell) << "\" fill=\"rgb(" << red << "," << green << "," << blue
        << ")\"/>\n<text x=\"" << num(x + cell / 2) << "\" y=\"" << num(y + cell / 2 + 4)
        << "\" text-anchor=\"middle\" stroke=\"none\" font-size=\"11\" fill=\""
        << (frac > 0.5 ? "white" : "black") << "\">" << confusion[r][c] << "</text>\n";
    }
  }
  s << "</g>\n<g class=\"labels\" font-size=\"11\">\n";
  for (size_t i = 0; i < n; ++i) {
    const double mid = cell * (static_cast<double>(i) + 0.5);
    s << "<text x=\"" << num(f.left - 6) << "\" y=\"" << num(f.top + mid + 4)
      << "\" text-anchor=\"end\">" << xml_escape(labels[i]) << "</text>\n"
      << "<text transform=\"translate(" << num(f.left + mid + 4) << " "
      << num(f.top + cell * static_cast<double>(n) + 8) << ") rotate(-60)\" text-anchor=\"end\">"
      << xml_escape(labels[i]) << "</text>\n";
  }
  s << "</g>\n<text x=\"" << num(f.left + cell * static_cast<double>(n) / 2) << "\" y=\""
    << num(f.height - 10) << "\" text-anchor=\"middle\">Predicted class</text>\n"
    << "<text transform=\"translate(16 " << num(f.top + cell * static_cast<double>(n) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">True class</text>\n";
  // Legend: the colour scale from 0 to 1 of a row.
  const double lx = f.left + cell * static_cast<double>(n) + 30;
  s << "<g class=\"legend\">\n<text x=\"" << num(lx) << "\" y=\"" << num(f.top + 4)
    << "\" font-size=\"11\">" << xml_escape(legend_title) << "</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double frac = i / 4.0;
    const int red = static_cast<int>(std::lround(255 - 247 * frac));
    const int green = static_cast<int>(std::lround(255 - 207 * frac));
    const int blue = static_cast<int>(std::lround(255 - 148 * frac));
    const double y = f.top + 14 + 20.0 * i;
    s << "<rect x=\"" << num(lx) << "\" y=\"" << num(y) << "\" width=\"18\" height=\"18\" "
      << "stroke=\"#cccccc\" fill=\"rgb(" << red << "," << green << "," << blue << ")\"/>\n"
      << "<text x=\"" << num(lx + 24) << "\" y=\"" << num(y + 13) << "\" font-size=\"11\">"
      << num(frac) << "</text>\n";
  }
  s << "</g>\n</svg>\n";
  return s.str();
}

namespace {

// The labels of a figure whose x axis is a row of groups (one unit slot each): the y tick
// labels inside the frame's y range, each group's name under its slot, and the y axis
// label, rotated.
void group_axis_labels(std::ostringstream& s, const Frame& f, const NiceTicks& ty,
                       const std::vector<std::string>& groups, const std::string& ylabel) {
  s << "<g class=\"tick-labels\" fill=\"black\">\n";
  for (double y : ty.values()) {
    if (y < f.y0 || y > f.y1) continue;
    s << "<text class=\"y-tick\" x=\"" << num(f.px(f.x0) - 8) << "\" y=\"" << num(f.py(y) + 4)
      << "\" text-anchor=\"end\">" << ty.label(y) << "</text>\n";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    s << "<text x=\"" << num(f.px(static_cast<double>(g) + 0.5)) << "\" y=\""
      << num(f.py(f.y0) + 18) << "\" text-anchor=\"middle\">" << xml_escape(groups[g])
      << "</text>\n";
  }
  s << "</g>\n<text transform=\"translate(20 " << num((f.py(f.y0) + f.py(f.y1)) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(ylabel) << "</text>\n";
}

}  // namespace

std::string grouped_bars_svg(const std::string& title, const std::string& ylabel,
                             const std::vector<std::string>& groups,
                             const std::vector<std::string>& series,
                             const std::vector<std::vector<std::optional<BarValue>>>& values) {
  CHECK_EQ(values.size(), series.size());
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& row : values) {
    CHECK_EQ(row.size(), groups.size());
    for (const auto& v : row) {
      if (!v) continue;
      lo = std::min(lo, v->mean - v->std);
      hi = std::max(hi, v->mean + v->std);
    }
  }
  if (!(lo <= hi)) lo = 0, hi = 100;  // Nothing complete yet.
  // A y range around the bars (differences of ablations are small: start near them).
  const double pad = std::max(1.0, (hi - lo) * 0.15);
  Frame f;
  // Round limits within [0, 100] (every nice step divides 100).
  const NiceTicks ty = nice_ticks(std::max(0.0, lo - pad), std::min(100.0, hi + pad));
  f.y0 = std::max(0.0, ty.lo);
  f.y1 = std::min(100.0, ty.hi);
  f.x0 = 0, f.x1 = static_cast<double>(std::max<size_t>(1, groups.size()));
  // Each group at least as wide as its name and 140 px.
  double group_width = 140;
  for (const auto& g : groups) group_width = std::max(group_width, text_width(g, 12) + 20);
  f.width = std::max(640.0, f.left + group_width * static_cast<double>(groups.size()) + f.right);
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < series.size(); ++i) entries.emplace_back(series[i], colour(i));
  fit(f, title, entries);
  std::ostringstream s;
  open_svg(s, f, title);
  // Axes: the y ticks of `axes`, group names instead of x ticks.
  s << "<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x1)) << "\" y2=\"" << num(f.py(f.y0)) << "\"/>\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(f.y1)) << "\"/>\n";
  for (double y : ty.values()) {
    if (y < f.y0 || y > f.y1) continue;
    s << "<line x1=\"" << num(f.px(f.x0) - 5) << "\" y1=\"" << num(f.py(y)) << "\" x2=\""
      << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(y)) << "\"/>\n";
  }
  s << "</g>\n";
  group_axis_labels(s, f, ty, groups, ylabel);
  // Bars: each group's unit slot holds the series side by side in its middle 80%.
  const double slot = 0.8 / static_cast<double>(std::max<size_t>(1, series.size()));
  s << "<g class=\"bars\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const double x = static_cast<double>(g) + 0.1 + slot * static_cast<double>(i);
      const auto& v = values[i][g];
      if (!v) {
        s << "<text x=\"" << num(f.px(x + slot / 2)) << "\" y=\"" << num(f.py(f.y0) - 4)
          << "\" text-anchor=\"middle\" font-size=\"9\" fill=\"#a00\">n/a</text>\n";
        continue;
      }
      const double top = std::clamp(v->mean, f.y0, f.y1);
      s << "<rect class=\"bar\" x=\"" << num(f.px(x)) << "\" y=\"" << num(f.py(top))
        << "\" width=\"" << num(f.px(x + slot) - f.px(x) - 1) << "\" height=\""
        << num(f.py(f.y0) - f.py(top)) << "\" fill=\"" << colour(i) << "\"/>\n";
      if (v->std > 0) {
        const double cx = f.px(x + slot / 2);
        s << "<line x1=\"" << num(cx) << "\" y1=\""
          << num(f.py(std::clamp(v->mean - v->std, f.y0, f.y1))) << "\" x2=\"" << num(cx)
          << "\" y2=\"" << num(f.py(std::clamp(v->mean + v->std, f.y0, f.y1)))
          << "\" stroke=\"black\"/>\n";
      }
    }
  }
  s << "</g>\n";
  legend(s, f, entries, false);
  s << "</svg>\n";
  return s.str();
}

std::string scatter_svg(const std::string& title,
                        const std::vector<std::pair<double, double>>& points,
                        const std::vector<int>& classes,
                        const std::vector<std::string>& class_names, const std::string& xlabel,
                        const std::string& ylabel) {
  CHECK_EQ(points.size(), classes.size());
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& [x, y] : points) {
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  }
  auto widen = [](double& lo, double& hi) {
    if (!(lo < hi)) {
      lo = std::isfinite(lo) ? lo - 1 : -1;
      hi = lo + 2;
    }
    const double m = (hi - lo) * 0.05;
    lo -= m, hi += m;
  };
  widen(x0, x1);
  widen(y0, y1);
  // Round limits around the points.
  const NiceTicks tx = nice_ticks(x0, x1), ty = nice_ticks(y0, y1);
  Frame f;
  f.x0 = tx.lo, f.x1 = tx.hi, f.y0 = ty.lo, f.y1 = ty.hi;
  std::vector<std::pair<std::string, std::string>> entries;
  // The unknown classes are one grey class; the known ones take the palette.
  auto class_colour = [&](size_t k) -> std::string {
    return class_names[k] == "unknown" ? "#888888" : colour(k);
  };
  for (size_t k = 0; k < class_names.size(); ++k) {
    entries.emplace_back(class_names[k], class_colour(k));
  }
  fit(f, title, entries);
  std::ostringstream s;
  open_svg(s, f, title);
  axes(s, f, xlabel, ylabel);
  s << "<g class=\"points\" fill-opacity=\"0.75\">\n";
  for (size_t i = 0; i < points.size(); ++i) {
    CHECK(classes[i] >= 0 && static_cast<size_t>(classes[i]) < class_names.size());
    s << "<circle cx=\"" << num(f.px(points[i].first)) << "\" cy=\"" << num(f.py(points[i].second))
      << "\" r=\"3.5\" fill=\"" << class_colour(static_cast<size_t>(classes[i])) << "\"/>\n";
  }
  s << "</g>\n";
  legend(s, f, entries, false);
  s << "</svg>\n";
  return s.str();
}

std::string interval_figure_svg(
    const std::string& title, const std::string& ylabel, const std::vector<std::string>& groups,
    const std::vector<std::string>& series,
    const std::vector<std::vector<std::optional<IntervalPoint>>>& values,
    const std::string& mean_label, const std::string& reference_label) {
  CHECK_EQ(values.size(), series.size());
  // --- the y range: every mean, interval end and reference, at round limits ---
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& row : values) {
    CHECK_EQ(row.size(), groups.size());
    for (const auto& v : row) {
      if (!v) continue;
      for (const auto& x : {v->mean, v->low, v->high, v->reference}) {
        if (x) lo = std::min(lo, *x), hi = std::max(hi, *x);
      }
    }
  }
  if (!(lo <= hi)) lo = 0, hi = 100;
  const double pad = std::max(1.0, (hi - lo) * 0.05);
  const NiceTicks ty = nice_ticks(lo - pad, hi + pad);
  Frame f;
  f.y0 = ty.lo;
  f.y1 = ty.hi;
  f.x0 = 0, f.x1 = static_cast<double>(std::max<size_t>(1, groups.size()));
  // Each group as wide as its name, and 24 px per series (a dot and a diamond).
  double group_width = 24.0 * static_cast<double>(std::max<size_t>(2, series.size())) + 20;
  for (const auto& g : groups) group_width = std::max(group_width, text_width(g, 12) + 12);
  f.width = std::max(640.0, f.left + group_width * static_cast<double>(groups.size()) + f.right);
  // --- the legend: one colour per series, then the two markers ---
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < series.size(); ++i) entries.emplace_back(series[i], colour(i));
  entries.emplace_back(mean_label, "#000000");
  entries.emplace_back(reference_label, "#000000");
  fit(f, title, entries);
  f.height =
      std::max(f.height, f.top + 10 + 22.0 * static_cast<double>(entries.size()) + 20 + f.bottom);
  std::ostringstream s;
  open_svg(s, f, title);
  // --- axes: y ticks, group names under the x axis ---
  s << "<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x1)) << "\" y2=\"" << num(f.py(f.y0)) << "\"/>\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(f.y1)) << "\"/>\n";
  for (double y : ty.values()) {
    s << "<line x1=\"" << num(f.px(f.x0) - 5) << "\" y1=\"" << num(f.py(y)) << "\" x2=\""
      << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(y)) << "\"/>\n";
  }
  for (size_t g = 1; g < groups.size(); ++g) {  // Light separators between groups.
    s << "<line x1=\"" << num(f.px(static_cast<double>(g))) << "\" y1=\"" << num(f.py(f.y0))
      << "\" x2=\"" << num(f.px(static_cast<double>(g))) << "\" y2=\"" << num(f.py(f.y1))
      << "\" stroke=\"#dddddd\"/>\n";
  }
  s << "</g>\n";
  group_axis_labels(s, f, ty, groups, ylabel);
  // --- the points: per series slot, the mean and its interval left, the reference right ---
  const double slot = 0.8 / static_cast<double>(std::max<size_t>(1, series.size()));
  auto diamond = [&](double cx, double cy, const std::string& stroke) {
    s << "<polygon class=\"reference\" points=\"" << num(cx) << "," << num(cy - 5) << " "
      << num(cx + 5) << "," << num(cy) << " " << num(cx) << "," << num(cy + 5) << " " << num(cx - 5)
      << "," << num(cy) << "\" fill=\"white\" stroke=\"" << stroke << "\" stroke-width=\"2\"/>\n";
  };
  s << "<g class=\"points\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const double x = static_cast<double>(g) + 0.1 + slot * static_cast<double>(i);
      const auto& v = values[i][g];
      const double mx = f.px(x + slot * 0.35), rx = f.px(x + slot * 0.75);
      if (!v || !v->mean) {
        s << "<text x=\"" << num(mx) << "\" y=\"" << num(f.py(f.y0) - 4)
          << "\" text-anchor=\"middle\" font-size=\"9\" fill=\"#a00\">n/a</text>\n";
      }
      if (v && v->mean) {
        if (v->low && v->high) {
          const double y0 = f.py(*v->low), y1 = f.py(*v->high);
          s << "<g class=\"interval\" stroke=\"" << colour(i) << "\" stroke-width=\"1.5\">"
            << "<line x1=\"" << num(mx) << "\" y1=\"" << num(y0) << "\" x2=\"" << num(mx)
            << "\" y2=\"" << num(y1) << "\"/><line x1=\"" << num(mx - 4) << "\" y1=\"" << num(y0)
            << "\" x2=\"" << num(mx + 4) << "\" y2=\"" << num(y0) << "\"/><line x1=\""
            << num(mx - 4) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(mx + 4) << "\" y2=\""
            << num(y1) << "\"/></g>\n";
        }
        s << "<circle class=\"mean\" cx=\"" << num(mx) << "\" cy=\"" << num(f.py(*v->mean))
          << "\" r=\"4\" fill=\"" << colour(i) << "\"/>\n";
      }
      if (v && v->reference) diamond(rx, f.py(*v->reference), colour(i));
    }
  }
  s << "</g>\n";
  // Legend: series colours, then the two markers in black.
  const double lx = f.width - f.right + 15;
  s << "<g class=\"legend\">\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const double y = f.top + 10 + 22.0 * static_cast<double>(i);
    if (i < series.size()) {
      s << "<rect x=\"" << num(lx) << "\" y=\"" << num(y - 6) << "\" width=\"20\" height=\"12\" "
        << "fill=\"" << colour(i) << "\"/>\n";
    } else if (i == series.size()) {
      s << "<line x1=\"" << num(lx + 10) << "\" y1=\"" << num(y - 8) << "\" x2=\"" << num(lx + 10)
        << "\" y2=\"" << num(y + 8) << "\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
        << "<circle cx=\"" << num(lx + 10) << "\" cy=\"" << num(y) << "\" r=\"4\" "
        << "fill=\"black\"/>\n";
    } else {
      diamond(lx + 10, y, "#000000");
    }
    s << "<text x=\"" << num(lx + 26) << "\" y=\"" << num(y + 4) << "\" font-size=\"11\">"
      << xml_escape(entries[i].first) << "</text>\n";
  }
  s << "</g>\n</svg>\n";
  return s.str();
}

}  // namespace hesp::report
