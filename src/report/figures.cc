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

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
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

// Axes box, 5 ticks per axis with labels, and the axis titles.
void axes(std::ostringstream& s, const Frame& f, const std::string& xlabel,
          const std::string& ylabel) {
  s << "<g class=\"axes\" stroke=\"black\" fill=\"none\">\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x1)) << "\" y2=\"" << num(f.py(f.y0)) << "\"/>\n"
    << "<line x1=\"" << num(f.px(f.x0)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
    << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(f.y1)) << "\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double x = f.x0 + (f.x1 - f.x0) * i / 5, y = f.y0 + (f.y1 - f.y0) * i / 5;
    s << "<line x1=\"" << num(f.px(x)) << "\" y1=\"" << num(f.py(f.y0)) << "\" x2=\""
      << num(f.px(x)) << "\" y2=\"" << num(f.py(f.y0) + 5) << "\"/>\n"
      << "<line x1=\"" << num(f.px(f.x0) - 5) << "\" y1=\"" << num(f.py(y)) << "\" x2=\""
      << num(f.px(f.x0)) << "\" y2=\"" << num(f.py(y)) << "\"/>\n";
  }
  s << "</g>\n<g class=\"tick-labels\" fill=\"black\">\n";
  for (int i = 0; i <= 5; ++i) {
    const double x = f.x0 + (f.x1 - f.x0) * i / 5, y = f.y0 + (f.y1 - f.y0) * i / 5;
    s << "<text x=\"" << num(f.px(x)) << "\" y=\"" << num(f.py(f.y0) + 18)
      << "\" text-anchor=\"middle\">" << tick_label(x) << "</text>\n"
      << "<text x=\"" << num(f.px(f.x0) - 8) << "\" y=\"" << num(f.py(y) + 4)
      << "\" text-anchor=\"end\">" << tick_label(y) << "</text>\n";
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
  std::ostringstream s;
  open_svg(s, f, title);
  axes(s, f, "False positive rate (unknown called known)", "True positive rate (known)");
  s << "<line class=\"chance\" x1=\"" << num(f.px(0)) << "\" y1=\"" << num(f.py(0)) << "\" x2=\""
    << num(f.px(1)) << "\" y2=\"" << num(f.py(1))
    << "\" stroke=\"#999999\" stroke-dasharray=\"4 4\"/>\n";
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < curves.size(); ++i) {
    s << "<polyline class=\"roc\" fill=\"none\" stroke=\"" << colour(i)
      << "\" stroke-width=\"2\" points=\"";
    for (size_t k = 0; k < curves[i].points.size(); ++k) {
      s << (k ? " " : "") << num(f.px(curves[i].points[k].first)) << ","
        << num(f.py(curves[i].points[k].second));
    }
    s << "\"/>\n";
    entries.emplace_back(curves[i].name, colour(i));
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
  f.x0 = lo, f.x1 = hi, f.y0 = 0, f.y1 = top > 0 ? top * 1.1 : 1.0;
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
  legend(s, f,
         {{"known (" + std::to_string(known_scores.size()) + " clips)", colour(0)},
          {"unknown (" + std::to_string(unknown_scores.size()) + " clips)", colour(1)}},
         false);
  s << "</svg>\n";
  return s.str();
}

std::string confusion_svg(const std::string& title, const std::vector<std::string>& labels,
                          const std::vector<std::vector<int64_t>>& confusion) {
  const size_t n = labels.size();
  CHECK_EQ(confusion.size(), n);
  const double cell = n > 12 ? 28 : 40;
  Frame f;
  f.left = 130, f.top = 50, f.bottom = 120, f.right = 140;
  f.width = f.left + cell * static_cast<double>(n) + f.right;
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
    << "\" font-size=\"11\">share of the true class</text>\n";
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

}  // namespace hesp::report
