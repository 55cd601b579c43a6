#include "report/report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "report/ablations.h"
#include "report/comparison.h"
#include "report/figures.h"
#include "report/projection.h"
#include "report/sweep_runs.h"
#include "report/tables.h"
#include "report/xml_text.h"
#include "run/run_directory.h"
#include "run/test_features.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::report {
namespace stdfs = std::filesystem;
namespace {

// A name safe as a file name component.
std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '-';
  return out;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100 * v);
  return buf;
}

struct Figure {
  std::string file;  // Relative to the output directory.
  std::string caption;
  bool wide = false;  // Spans the page (the figures against the paper: many groups).
};

struct SettingFigures {
  std::string title;
  std::vector<Figure> figures;
};

// The run a method's figures show: the first done split of the lowest openness that has
// one (split 0 of the first openness when the sweep is complete).
const Run* representative(const std::vector<Run>& runs, const std::string& setting,
                          const std::string& method) {
  const Run* best = nullptr;
  for (const Run& r : runs) {
    if (r.key.setting != setting || r.key.method != method || r.status != RunStatus::kDone)
      continue;
    if (!best || std::make_pair(r.key.openness, r.key.split) <
                     std::make_pair(best->key.openness, best->key.split)) {
      best = &r;
    }
  }
  return best;
}

std::string run_label(const Run& r) {
  return r.key.openness_dir + "/split" + std::to_string(r.key.split);
}

void write(ReportOutput& out, const stdfs::path& rel, const std::string& text) {
  fs::atomic_write_file(out.out_dir / rel, text);
  out.files.push_back(out.out_dir / rel);
}

std::vector<SettingFigures> write_figures(ReportOutput& out, const std::vector<Run>& runs,
                                          const std::vector<SettingTable>& tables) {
  std::vector<SettingFigures> all;
  stdfs::create_directories(out.out_dir / "figures");
  for (const SettingTable& t : tables) {
    SettingFigures sf;
    sf.title = t.title;
    std::vector<RocCurve> curves;
    std::string which;
    std::vector<Figure> per_method, features;
    for (const Row& row : t.rows) {
      const Run* r = representative(runs, t.setting, row.method);
      if (!r) continue;
      const RunResult& res = *r->result;
      std::vector<double> known, unknown;
      for (const ClipScore& c : res.clips) (c.label >= 0 ? known : unknown).push_back(c.score);
      const std::string base = slug(t.setting) + "_" + slug(row.method);
      const std::string tag = row.name + ", " + run_label(*r);
      which += (which.empty() ? "" : "; ") + tag;
      if (!known.empty() && !unknown.empty()) {
        curves.push_back(
            {row.name + " (AUROC " + pct(res.auroc) + ")", roc_points(known, unknown)});
      }
      const std::string hist = "figures/hist_" + base + ".svg";
      write(out, hist,
            histogram_svg(t.setting + ": " + tag + " — known vs unknown scores", known, unknown));
      per_method.push_back(
          {hist, "Score histograms of known and unknown test clips, " + tag + "."});
      // Fig. 6: the run's test features (test_features.h5 beside result.json) in 2-D.
      const auto feature_file = run::RunDirectory(r->result_path.parent_path()).test_features();
      if (stdfs::exists(feature_file)) {
        const auto tf = run::read_test_features(feature_file);
        const auto xy = pca_2d(tf.features);
        std::vector<std::pair<double, double>> points;
        std::vector<int> classes;
        std::vector<std::string> names = res.known_classes;
        names.push_back("unknown");
        const int unknown = static_cast<int>(res.known_classes.size());
        for (int64_t i = 0; i < xy.size(0); ++i) {
          points.emplace_back(xy[i][0].item<double>(), xy[i][1].item<double>());
          const int label = tf.labels[static_cast<size_t>(i)];
          if (label < -1 || label >= unknown) {
            throw UserError(feature_file.string() + ": label " + std::to_string(label) +
                            " outside [-1, " + std::to_string(unknown) + ")");
          }
          classes.push_back(label < 0 ? unknown : label);
        }
        const std::string file = "figures/features_" + base + ".svg";
        write(out, file,
              scatter_svg(t.setting + ": " + tag + " — test features (PCA)", points, classes, names,
                          "principal component 1", "principal component 2"));
        features.push_back({file,
                            "Test video features projected to 2-D by PCA, coloured by "
                            "class (all unknown classes grey; the paper's Fig. 6), " +
                                tag + "."});
      }
      if (!res.confusion.empty()) {
        std::vector<std::string> labels = res.known_classes;
        labels.push_back("unknown");
        const std::string conf = "figures/confusion_" + base + ".svg";
        write(out, conf,
              confusion_svg(t.setting + ": " + tag + " — confusion", labels, res.confusion));
        per_method.push_back({conf,
                              "(K+1)-class confusion matrix at the training threshold "
                              "(rows = truth, columns = prediction), " +
                                  tag + "."});
      }
    }
    if (!curves.empty()) {
      const std::string roc = "figures/roc_" + slug(t.setting) + ".svg";
      write(out, roc, roc_svg(t.setting + ": ROC, known = positive", curves));
      sf.figures.push_back(
          {roc, "ROC curves (known = positive) of one run per method: " + which + "."});
    }
    // The feature plots of the methods together, side by side.
    for (auto& f : features) sf.figures.push_back(std::move(f));
    for (auto& f : per_method) sf.figures.push_back(std::move(f));
    all.push_back(std::move(sf));
  }
  return all;
}

std::string index_html(const std::vector<SettingTable>& tables,
                       const std::vector<SettingFigures>& figures, const ReportOutput& out,
                       const std::string& ablation_fragment, const std::string& comparison_html) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<title>HESP open-set results</title>\n<style>\n"
    << "body { font-family: sans-serif; margin: 2em; max-width: 1400px; }\n"
    << "table.results { border-collapse: collapse; margin-bottom: 0.5em; }\n"
    << "table.results th, table.results td { border: 1px solid #999; padding: 4px 8px; "
       "text-align: center; }\n"
    << "td.na { color: #a00; }\ntd.outside { color: #a00; font-weight: bold; }\n"
    << ".not-compared { background: #fff4e0; padding: 0.5em; }\n.footnote { font-size: 0.9em; "
       "color: #555; }\n"
    << "figure { display: inline-block; margin: 1em; vertical-align: top; max-width: 700px; }\n"
    << "figure.wide { max-width: 1400px; }\n"
    << "figure img { max-width: 100%; border: 1px solid #ddd; }\n</style>\n</head>\n<body>\n"
    << "<h1>HESP open-set results</h1>\n<p>" << out.runs_done << " runs done, " << out.runs_not_done
    << " not done. AUROC and OSCR x100: mean ± sample standard deviation "
    << "(n - 1) over the class splits of each openness; Mean is the mean of the per-openness "
    << "means. A cell averages only when all its splits are done; otherwise it shows n/a "
    << "with the count. Openness O(K:U) = 1 - sqrt(K / (K + U)).</p>\n"
    << ablation_fragment << tables_html(tables) << comparison_html << "<h1>Figures</h1>\n";
  for (const SettingFigures& sf : figures) {
    h << "<h2>" << xml_escape(sf.title) << "</h2>\n";
    for (const Figure& f : sf.figures) {
      h << "<figure" << (f.wide ? " class=\"wide\"" : "") << "><img src=\"" << xml_escape(f.file)
        << "\" alt=\"" << xml_escape(f.caption) << "\"><figcaption>" << xml_escape(f.caption)
        << "</figcaption></figure>\n";
    }
  }
  h << "</body>\n</html>\n";
  return h.str();
}

}  // namespace

std::vector<std::string> parse_formats(const std::string& list) {
  std::vector<std::string> formats;
  std::stringstream ss(list);
  std::string f;
  while (std::getline(ss, f, ',')) {
    if (f != "md" && f != "csv" && f != "html") {
      throw ConfigError("--format: unknown format '" + f + "' (expected md, csv, html)");
    }
    if (std::find(formats.begin(), formats.end(), f) == formats.end()) formats.push_back(f);
  }
  if (formats.empty()) throw ConfigError("--format: no format given (expected md, csv, html)");
  return formats;
}

ReportOutput write_report(const ReportOptions& options) {
  ReportOutput out;
  out.out_dir = options.out_dir.empty() ? options.sweep_dir / "report" : options.out_dir;
  const std::vector<Run> runs = load_sweep(options.sweep_dir, out.out_dir);
  for (const Run& r : runs) (r.status == RunStatus::kDone ? out.runs_done : out.runs_not_done)++;
  const std::vector<SettingTable> tables = build_tables(runs);
  stdfs::create_directories(out.out_dir);
  fs::ensure_writable_directory(out.out_dir);
  const auto has = [&](const char* f) {
    return std::find(options.formats.begin(), options.formats.end(), f) != options.formats.end();
  };
  // --- an ablation sweep: its table (Tables 5-6) or bars (Fig. 3) first ---
  std::string ablation_md, ablation_fragment;
  std::vector<Figure> ablation_figures;
  const auto spec = read_ablation_spec(options.sweep_dir);
  if (spec) {
    const AblationTable table = build_ablation_table(*spec, tables);
    ablation_md = ablation_markdown(table);
    ablation_fragment = ablation_html(table);
    if (has("csv")) write(out, "ablation.csv", ablation_csv(table));
    if (spec->kind == "ablation_bars") {
      stdfs::create_directories(out.out_dir / "figures");
      for (const bool auroc : {true, false}) {
        const std::string file =
            std::string("figures/ablation_") + (auroc ? "auroc" : "oscr") + ".svg";
        write(out, file, ablation_bars_svg(table, auroc));
        ablation_figures.push_back({file, spec->title + ": " + (auroc ? "AUROC" : "OSCR") +
                                              " x100 per setting (bars: mean, whiskers: ± "
                                              "sample std over the splits)."});
      }
    }
  }
  // --- against the paper, and HESP against its baseline (comparison.h) ---
  const PaperTables paper = load_paper_tables(resolve_paper_tables_path());
  const Comparisons comparisons = build_comparisons(tables, paper, spec);
  if (has("md")) {
    write(out, "tables.md",
          ablation_md + tables_markdown(tables) + comparisons_markdown(comparisons));
  }
  if (has("csv")) {
    write(out, "tables.csv", tables_csv(tables));
    write(out, "paper_comparison.csv", paper_comparison_csv(comparisons));
    write(out, "paired_tests.csv", paired_tests_csv(comparisons));
  }
  auto figures = write_figures(out, runs, tables);
  std::vector<Figure> paper_figures;
  for (const SettingComparison& s : comparisons.settings) {
    if (!s.paper_table) continue;
    const std::string svg = paper_figure_svg(s);
    if (svg.empty()) continue;
    const std::string file = "figures/paper_" + slug(s.setting) + ".svg";
    write(out, file, svg);
    paper_figures.push_back({file,
                             s.title +
                                 ": our mean over the splits with its 95% t "
                                 "interval (dot and whisker) beside the paper's "
                                 "Table " +
                                 std::to_string(s.paper_table) +
                                 " value (hollow diamond), per openness and metric.",
                             true});
  }
  if (!paper_figures.empty()) {
    figures.insert(figures.begin(), SettingFigures{"Against the paper", paper_figures});
  }
  if (!ablation_figures.empty()) {
    figures.insert(figures.begin(), SettingFigures{"Ablation", ablation_figures});
  }
  if (has("html")) {
    write(out, "index.html",
          index_html(tables, figures, out, ablation_fragment, comparisons_html(comparisons)));
  }
  return out;
}

}  // namespace hesp::report
