// `hesp report` on synthetic sweeps: the tables' numbers against means and standard
// deviations computed here from the result.json files, the marking of failed and missing
// runs, the SVG figures (well-formed, one ROC polyline per method, ROC area = AUROC), the
// errors, and the command line through the real binary.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "metrics/ranking.h"
#include "report/figures.h"
#include "report/report.h"
#include "report/tables.h"
#include "sweep_fixture.h"
#include "util/errors.h"
#include "util/fs.h"
#include "xml_check.h"

namespace hesp::report {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using testing::FixtureRun;
using testing::SweepSpec;

std::string slurp(const stdfs::path& p) { return fs::read_file(p); }

// Mean and sample std (n - 1) of AUROC / OSCR x100 of the given runs, read straight from
// their result.json files.
struct Expected {
  double auroc_mean, auroc_std, oscr_mean, oscr_std;
};
Expected expected_cell(const stdfs::path& dir, const std::vector<FixtureRun>& runs,
                       const std::string& setting, const std::string& method,
                       const std::string& openness) {
  std::vector<double> a, o;
  for (const auto& r : runs) {
    if (r.setting != setting || r.method != method || r.openness_dir != openness) continue;
    const json j = json::parse(slurp(testing::result_path(dir, r)));
    a.push_back(100 * j["metrics"]["auroc"].get<double>());
    o.push_back(100 * j["metrics"]["oscr"].get<double>());
  }
  auto stats = [](const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::pair{m, std::sqrt(ss / static_cast<double>(v.size() - 1))};
  };
  const auto [am, as] = stats(a);
  const auto [om, os] = stats(o);
  return {am, as, om, os};
}

// tables.csv as rows of name -> value.
std::vector<std::map<std::string, std::string>> read_csv(const stdfs::path& p) {
  std::istringstream in(slurp(p));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, ',');) fields.push_back(f);
    if (!line.empty() && line.back() == ',') fields.push_back("");
    EXPECT_EQ(fields.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

const std::map<std::string, std::string>* find_row(
    const std::vector<std::map<std::string, std::string>>& rows, const std::string& setting,
    const std::string& method, const std::string& column, const std::string& metric) {
  for (const auto& r : rows) {
    if (r.at("setting") == setting && r.at("method") == method && r.at("column") == column &&
        r.at("metric") == metric) {
      return &r;
    }
  }
  return nullptr;
}

// The cells of the markdown row named `row_name` in the section whose title contains
// `section`.
std::vector<std::string> md_row(const std::string& md, const std::string& section,
                                const std::string& row_name) {
  const size_t start = md.find(section);
  EXPECT_NE(start, std::string::npos) << section;
  const size_t next = md.find("\n## ", start + 1);
  const std::string part =
      md.substr(start, next == std::string::npos ? std::string::npos : next - start);
  std::istringstream in(part);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| " + row_name + " |", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ls(line.substr(1));
    for (std::string c; std::getline(ls, c, '|');) {
      const size_t a = c.find_first_not_of(' '), b = c.find_last_not_of(' ');
      cells.push_back(a == std::string::npos ? "" : c.substr(a, b - a + 1));
    }
    return cells;  // [name, 5:2 AUROC, 5:2 OSCR, 3:4 AUROC, 3:4 OSCR, mean AUROC, mean OSCR]
  }
  ADD_FAILURE() << "no row " << row_name << " in " << section;
  return {};
}

std::string two(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

TEST(Report, TablesEqualMeanAndSampleStdOfTheRuns) {
  const auto dir = testing::fresh_dir("complete");
  const auto runs = testing::write_sweep(dir, SweepSpec{});
  const auto out = write_report({dir, dir / "out", {"md", "csv", "html"}});
  EXPECT_EQ(out.runs_done, static_cast<int>(runs.size()));
  EXPECT_EQ(out.runs_not_done, 0);
  const auto csv = read_csv(dir / "out" / "tables.csv");
  const std::string md = slurp(dir / "out" / "tables.md");
  const std::map<std::string, std::string> names = {{"clip_zeroshot", "Baseline 1"},
                                                    {"clip_arpl", "Baseline 2"},
                                                    {"hesp_b1", "Baseline 1 + HESP"},
                                                    {"hesp", "Baseline 2 + HESP"}};
  for (const std::string setting : {"afew", "mafw"}) {
    const std::string section = setting == "afew" ? "Table 1: AFEW" : "Table 2: MAFW";
    for (const auto& [method, name] : names) {
      const auto cells = md_row(md, section, name);
      ASSERT_EQ(cells.size(), 7u);
      double mean_auroc = 0, mean_oscr = 0;
      int col = 0;
      for (const std::string o : {"5-2", "3-4"}) {
        const Expected e = expected_cell(dir, runs, setting, method, o);
        const std::string label = o == "5-2" ? "5:2" : "3:4";
        const auto* a = find_row(csv, setting, method, label, "auroc");
        const auto* s = find_row(csv, setting, method, label, "oscr");
        ASSERT_TRUE(a && s) << setting << " " << method << " " << label;
        EXPECT_NEAR(std::stod(a->at("mean_x100")), e.auroc_mean, 1e-6);
        EXPECT_NEAR(std::stod(a->at("std_x100")), e.auroc_std, 1e-6);
        EXPECT_NEAR(std::stod(s->at("mean_x100")), e.oscr_mean, 1e-6);
        EXPECT_NEAR(std::stod(s->at("std_x100")), e.oscr_std, 1e-6);
        EXPECT_EQ(a->at("n_done"), "3");
        EXPECT_EQ(cells[1 + 2 * col], two(e.auroc_mean) + " ± " + two(e.auroc_std));
        EXPECT_EQ(cells[2 + 2 * col], two(e.oscr_mean) + " ± " + two(e.oscr_std));
        mean_auroc += e.auroc_mean / 2, mean_oscr += e.oscr_mean / 2;
        ++col;
      }
      EXPECT_EQ(cells[5], two(mean_auroc));
      EXPECT_EQ(cells[6], two(mean_oscr));
      EXPECT_NEAR(std::stod(find_row(csv, setting, method, "mean", "auroc")->at("mean_x100")),
                  mean_auroc, 1e-6);
    }
  }
  // Rows in the paper's order, whatever order the directories have.
  const size_t t1 = md.find("Table 1: AFEW");
  size_t last = t1;
  for (const std::string name :
       {"| Baseline 1 |", "| Baseline 2 |", "| Baseline 1 + HESP |", "| Baseline 2 + HESP |"}) {
    const size_t at = md.find(name, t1);
    EXPECT_GT(at, last) << name;
    last = at;
  }
  stdfs::remove_all(dir);
}

TEST(Report, TablesNameTheReportedEpochAndHowItWasChosen) {
  const auto dir = testing::fresh_dir("selection");
  const auto runs = testing::write_sweep(dir, SweepSpec{});
  // Two AFEW runs chose their epoch on validation (spec §9); the others report the last.
  int changed = 0;
  for (const auto& run : runs) {
    if (run.setting != "afew" || changed == 2) continue;
    const auto path = testing::result_path(dir, run);
    auto j = nlohmann::json::parse(fs::read_file(path));
    j["selection"] = {{"by", "validation"}, {"epoch", changed == 0 ? 7 : 12}};
    fs::atomic_write_file(path, j.dump());
    ++changed;
  }
  write_report({dir, dir / "out", {"md", "html"}});
  const std::string md = slurp(dir / "out" / "tables.md");
  const size_t afew = md.find("Table 1: AFEW"), mafw = md.find("Table 2: MAFW");
  ASSERT_NE(afew, std::string::npos);
  ASSERT_NE(mafw, std::string::npos);
  const size_t per_setting = runs.size() / 2;
  const std::string afew_line = "Reported epoch: last epoch (" + std::to_string(per_setting - 2) +
                                " runs); chosen on validation (2 runs, epochs 7-12).";
  EXPECT_NE(md.find(afew_line, afew), std::string::npos) << md;
  EXPECT_LT(md.find(afew_line, afew), mafw);
  EXPECT_NE(md.find("Reported epoch: last epoch (" + std::to_string(per_setting) + " runs).", mafw),
            std::string::npos);
  EXPECT_NE(slurp(dir / "out" / "index.html").find("chosen on validation (2 runs, epochs 7-12)"),
            std::string::npos);
  stdfs::remove_all(dir);
}

TEST(Report, FailedAndMissingRunsAreMarkedNotAveraged) {
  const auto dir = testing::fresh_dir("partial");
  SweepSpec spec;
  spec.settings = {"afew"};
  const auto runs = testing::write_sweep(dir, spec);
  // hesp 5-2 split 1 failed (listed so by the sweep), clip_arpl 3-4 split 2 vanished
  // without a summary entry (missing: other cells have split 2), and a planned split 3 of
  // hesp_b1 5-2 that never ran.
  stdfs::remove_all(dir / "afew/hesp/5-2/split1");
  stdfs::remove_all(dir / "afew/clip_arpl/3-4/split2");
  json summary = {{"runs", json::array()}};
  for (const auto& r : runs) {
    const bool failed = r.method == "hesp" && r.openness_dir == "5-2" && r.split == 1;
    const bool gone = r.method == "clip_arpl" && r.openness_dir == "3-4" && r.split == 2;
    if (gone) continue;
    json e = {{"setting", r.setting},
              {"method", r.method},
              {"openness", r.openness_dir},
              {"split", r.split},
              {"status", failed         ? "failed"
                         : r.split == 0 ? "done"
                                        : "finished"}};
    if (failed) e["error"] = "exit code 1: out of memory";
    summary["runs"].push_back(e);
  }
  summary["runs"].push_back({{"dir", "afew/hesp_b1/5-2/split3"}, {"status", "missing"}});
  fs::atomic_write_file(dir / "sweep_summary.json", summary.dump(1));

  const auto out = write_report({dir, dir / "out", {"md", "csv"}});
  EXPECT_EQ(out.runs_not_done, 2);  // The vanished run has no entry: only the tables see it.
  const std::string md = slurp(dir / "out" / "tables.md");
  // Split 3 is planned for hesp_b1 5-2 only, but the split set is the setting's: every
  // cell now expects 4 splits, so every cell lacks one. Check each marking.
  const auto hesp = md_row(md, "Table 1", "Baseline 2 + HESP");
  EXPECT_EQ(hesp[1], "n/a (2/4 done, 1 failed, 1 missing) †");
  const auto arpl = md_row(md, "Table 1", "Baseline 2");
  EXPECT_EQ(arpl[3], "n/a (2/4 done, 2 missing) †");
  EXPECT_EQ(arpl[5], "n/a (0/2 openness complete)");
  EXPECT_NE(md.find("Baseline 2 + HESP, 5:2, split 1: failed (exit code 1: out of memory)"),
            std::string::npos);
  EXPECT_NE(md.find("Baseline 2, 3:4, split 2: missing"), std::string::npos);
  const auto csv = read_csv(dir / "out" / "tables.csv");
  const auto* cell = find_row(csv, "afew", "hesp", "5:2", "auroc");
  ASSERT_NE(cell, nullptr);
  EXPECT_EQ(cell->at("mean_x100"), "");  // Not averaged over the runs that are there.
  EXPECT_EQ(cell->at("n_failed"), "1");
  EXPECT_EQ(cell->at("n_planned"), "4");
  stdfs::remove_all(dir);
}

TEST(Report, IncompleteCellDoesNotBlockTheOthers) {
  const auto dir = testing::fresh_dir("onemissing");
  SweepSpec spec;
  spec.settings = {"mafw"};
  spec.openness_dirs = {"8-3", "3-8"};
  const auto runs = testing::write_sweep(dir, spec);
  stdfs::remove_all(dir / "mafw/hesp/3-8/split0");
  write_report({dir, dir / "out", {"md"}});
  const std::string md = slurp(dir / "out" / "tables.md");
  const auto hesp = md_row(md, "Table 1: MAFW", "Baseline 2 + HESP");
  const Expected e = expected_cell(dir, runs, "mafw", "hesp", "8-3");
  EXPECT_EQ(hesp[1], two(e.auroc_mean) + " ± " + two(e.auroc_std));
  EXPECT_EQ(hesp[3], "n/a (2/3 done, 1 missing) †");
  EXPECT_EQ(hesp[5], "n/a (1/2 openness complete)");
  stdfs::remove_all(dir);
}

TEST(Report, VariantsAreRowsAndSeedsAreRuns) {
  const auto dir = testing::fresh_dir("variants");
  SweepSpec spec;
  spec.settings = {"afew"};
  spec.methods = {"hesp-lr2", "hesp"};
  spec.openness_dirs = {"5-2"};
  spec.splits = 2;
  const auto runs = testing::write_sweep(dir, spec);
  // `hesp sweep` names split directories split<i>-seed<s> when it sweeps seeds.
  for (const auto& r : runs) {
    const auto p = testing::result_path(dir, r).parent_path();
    stdfs::rename(p, p.parent_path() / (p.filename().string() + "-seed4"));
  }
  write_report({dir, dir / "out", {"md", "csv"}});
  const std::string md = slurp(dir / "out" / "tables.md");
  const auto cells = md_row(md, "Table 1", "Baseline 2 + HESP [lr2]");
  ASSERT_EQ(cells.size(), 5u);
  double a = 0, b = 0;
  for (const auto& r : runs) {
    if (r.method != "hesp-lr2") continue;
    auto p = testing::result_path(dir, r).parent_path();
    p = p.parent_path() / (p.filename().string() + "-seed4") / "result.json";
    const double v = 100 * json::parse(slurp(p))["metrics"]["auroc"].get<double>();
    (r.split == 0 ? a : b) = v;
  }
  EXPECT_EQ(cells[1], two((a + b) / 2) + " ± " + two(std::abs(a - b) / std::sqrt(2.0)));
  // The variant row follows its method's row.
  EXPECT_LT(md.find("| Baseline 2 + HESP |"), md.find("| Baseline 2 + HESP [lr2] |"));
  stdfs::remove_all(dir);
}

TEST(Report, FiguresAreWellFormedSvgWithOneRocPolylinePerMethod) {
  const auto dir = testing::fresh_dir("figures");
  SweepSpec spec;
  spec.settings = {"afew"};
  spec.methods = {"hesp", "clip_arpl", "clip_zeroshot"};
  testing::write_sweep(dir, spec);
  const auto out = write_report({dir, dir / "out", {"html"}});
  int svgs = 0;
  for (const auto& f : out.files) {
    if (f.extension() != ".svg") continue;
    ++svgs;
    std::map<std::string, int> counts;
    ASSERT_NO_THROW(counts = testing::check_xml(slurp(f))) << f;
    EXPECT_EQ(counts["svg"], 1);
    EXPECT_GE(counts["text"], 4) << f;  // Title, axis labels / class labels, legend.
    EXPECT_EQ(counts["g"] > 0, true);
    if (f.filename() == "paper_afew.svg") {
      EXPECT_EQ(counts["circle"], 1 + 3 * 6);  // Legend, 3 methods x (2 columns + mean) x 2.
    }
    if (f.filename() == "roc_afew.svg") {
      EXPECT_EQ(counts["polyline"], 3);
    }
    if (f.filename().string().rfind("confusion_", 0) == 0) {
      EXPECT_EQ(counts["rect"], 1 + 6 * 6 + 5);  // Background, (K+1)^2 cells, scale.
    }
  }
  // ROC, a histogram and a confusion matrix per method, and (the fixture's AFEW 5:2 / 3:4
  // runs record the paper's protocol) the figure against the paper.
  EXPECT_EQ(svgs, 1 + 3 + 3 + 1);
  for (const char* f : {"figures/roc_afew.svg", "figures/hist_afew_hesp.svg",
                        "figures/confusion_afew_clip_arpl.svg", "index.html"}) {
    EXPECT_TRUE(stdfs::exists(dir / "out" / f)) << f;
  }
  EXPECT_FALSE(stdfs::exists(dir / "out" / "tables.md"));  // Not asked for.
  stdfs::remove_all(dir);
}

TEST(Report, RocPointsAreMonotoneAndTheirAreaIsTheAuroc) {
  const std::vector<double> known = {0.9, 0.8, 0.8, 0.5, 0.3, 0.7};
  const std::vector<double> unknown = {0.8, 0.2, 0.4, 0.5, 0.1};
  const auto pts = roc_points(known, unknown);
  ASSERT_GE(pts.size(), 2u);
  EXPECT_EQ(pts.front(), std::make_pair(0.0, 0.0));
  EXPECT_EQ(pts.back(), std::make_pair(1.0, 1.0));
  double area = 0;
  for (size_t i = 1; i < pts.size(); ++i) {
    EXPECT_GE(pts[i].first, pts[i - 1].first);
    EXPECT_GE(pts[i].second, pts[i - 1].second);
    area += (pts[i].first - pts[i - 1].first) * (pts[i].second + pts[i - 1].second) / 2;
  }
  // Trapezoids over tied-threshold steps count ties as half, like the Mann-Whitney AUROC.
  EXPECT_NEAR(area, metrics::auroc(known, unknown), 1e-12);
  // 6 distinct thresholds (0.9, 0.8, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1 -> 8) plus the origin.
  EXPECT_EQ(pts.size(), 9u);
}

TEST(Report, SvgTextIsEscaped) {
  const std::string svg = confusion_svg("a <b> & \"c\"", {"x<y", "unknown"}, {{1, 2}, {3, 4}});
  EXPECT_NO_THROW(testing::check_xml(svg));
  EXPECT_NE(svg.find("x&lt;y"), std::string::npos);
}

TEST(Report, MeanStdIsTheSampleStd) {
  const MeanStd m = mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m.mean, 2.5);
  EXPECT_NEAR(m.std, std::sqrt(5.0 / 3.0), 1e-15);
  EXPECT_EQ(mean_std({7}).std, 0.0);
}

std::string error_of(const ReportOptions& o) {
  try {
    write_report(o);
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Report, ErrorsNameTheDirectoryOrFile) {
  const auto dir = testing::fresh_dir("errors");
  EXPECT_NE(error_of({dir / "nope", {}, {"md"}}).find((dir / "nope").string()), std::string::npos);
  EXPECT_NE(error_of({dir, {}, {"md"}}).find("no result.json found under " + dir.string()),
            std::string::npos);
  const stdfs::path bad = dir / "afew/hesp/5-2/split0/result.json";
  stdfs::create_directories(bad.parent_path());
  fs::atomic_write_file(bad, "{\"method\": \"hesp\", ");
  std::string e = error_of({dir, {}, {"md"}});
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  fs::atomic_write_file(bad, R"({"method": "hesp", "openness": 0.15, "known_classes": ["a"],
    "unknown_classes": ["b"], "metrics": {"auroc": 0.5, "closed_set_accuracy": 1}, "clips": []})");
  e = error_of({dir, {}, {"md"}});
  EXPECT_NE(e.find(bad.string()), std::string::npos) << e;
  EXPECT_NE(e.find("'oscr'"), std::string::npos) << e;
  fs::atomic_write_file(bad, R"({"method": "clip_arpl", "openness": 0.15, "known_classes": ["a"],
    "unknown_classes": ["b"], "metrics": {"auroc": 0.5, "oscr": 0.4, "closed_set_accuracy": 1},
    "clips": [{"clip_id": "c", "label": 0, "prediction": 0, "score": 1.0}]})");
  e = error_of({dir, {}, {"md"}});
  EXPECT_NE(e.find("disagrees with its directory"), std::string::npos) << e;
  stdfs::remove_all(dir / "afew");
  const stdfs::path stray = dir / "afew/hesp/result.json";
  stdfs::create_directories(stray.parent_path());
  fs::atomic_write_file(stray, "{}");
  e = error_of({dir, {}, {"md"}});
  EXPECT_NE(e.find(stray.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not in the sweep layout"), std::string::npos) << e;
  EXPECT_THROW(parse_formats("md,pdf"), ConfigError);
  EXPECT_EQ(parse_formats("csv,md,csv"), (std::vector<std::string>{"csv", "md"}));
  stdfs::remove_all(dir);
}

TEST(Report, OpennessDirectoriesByValueOrKU) {
  EXPECT_NEAR(*openness_of_dir("5-2"), 1 - std::sqrt(5.0 / 7.0), 1e-15);
  EXPECT_NEAR(*openness_of_dir("0.1548"), 0.1548, 1e-15);
  EXPECT_FALSE(openness_of_dir("five").has_value());
}

struct HespRun {
  int exit_code;
  std::string out;
};

HespRun run_hesp(const std::string& args) {
  const std::string cmd = std::string(HESP_BINARY_DIR) + "/bin/hesp " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(ReportCli, WritesTheAskedFormatsAndMapsErrorsToExitCodes) {
  const auto dir = testing::fresh_dir("cli");
  SweepSpec spec;
  spec.settings = {"fusion"};
  spec.methods = {"hesp", "clip_zeroshot"};
  spec.openness_dirs = {"7-4"};
  spec.splits = 2;
  testing::write_sweep(dir, spec);
  auto r = run_hesp("report " + dir.string() + " --format md,csv");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(stdfs::exists(dir / "report/tables.md"));
  EXPECT_TRUE(stdfs::exists(dir / "report/tables.csv"));
  EXPECT_FALSE(stdfs::exists(dir / "report/index.html"));
  // A second run skips its own output directory inside the sweep.
  r = run_hesp("report " + dir.string() + " --out " + (dir / "report").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(stdfs::exists(dir / "report/index.html"));
  r = run_hesp("report " + (dir / "absent").string());
  EXPECT_EQ(r.exit_code, kExitFailure) << r.out;
  EXPECT_NE(r.out.find((dir / "absent").string()), std::string::npos) << r.out;
  r = run_hesp("report " + dir.string() + " --format pdf");
  EXPECT_EQ(r.exit_code, kExitConfigError) << r.out;
  stdfs::remove_all(dir);
}

}  // namespace
}  // namespace hesp::report
