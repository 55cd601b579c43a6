// The paper's ablations and Fig. 6 in `hesp report`: an ablation sweep's table in the
// paper's shape (rows = configurations named by sweep_summary.json's "report" entry in
// sweep order, columns = AUROC / OSCR per setting) with the per-setting tables' numbers;
// Fig. 3's grouped bars (one bar per configuration and column); the test-feature plots
// (PCA of test_features.h5, one point per clip, unknown classes one colour); and PCA
// itself against a plane of known principal axes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "report/projection.h"
#include "report/report.h"
#include "run/test_features.h"
#include "sweep_fixture.h"
#include "util/fs.h"
#include "xml_check.h"

namespace hesp::report {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::string slurp(const stdfs::path& p) { return fs::read_file(p); }

// Writes an ablation sweep: settings afew (5-2) and mafw (8-3), hesp with three variants.
std::vector<testing::FixtureRun> ablation_sweep(const stdfs::path& dir, const std::string& kind) {
  testing::SweepSpec spec;
  spec.settings = {"afew"};
  spec.methods = {"hesp-kn_ce", "hesp-supcon", "hesp-all"};
  spec.openness_dirs = {"5-2"};
  spec.splits = 2;
  auto runs = testing::write_sweep(dir, spec);
  json summary = {{"runs", json::array()},
                  {"report",
                   {{"kind", kind},
                    {"title", "Table 6: losses"},
                    {"rows",
                     {{{"dir", "hesp-kn_ce"}, {"label", "L_KN CE + L_H"}},
                      {{"dir", "hesp-supcon"}, {"label", "+ SupCon"}},
                      {{"dir", "hesp-all"}, {"label", "+ negative CLIP"}}}}}}};
  fs::atomic_write_file(dir / "sweep_summary.json", summary.dump());
  return runs;
}

double mean_auroc(const stdfs::path& dir, const std::vector<testing::FixtureRun>& runs,
                  const std::string& method) {
  double sum = 0;
  int n = 0;
  for (const auto& r : runs) {
    if (r.method != method) continue;
    sum += 100 * json::parse(slurp(testing::result_path(dir, r)))["metrics"]["auroc"].get<double>();
    ++n;
  }
  return sum / n;
}

TEST(Ablation, TableHasThePapersRowsInSweepOrderAndTheirNumbers) {
  const auto dir = testing::fresh_dir("ablation_table");
  const auto runs = ablation_sweep(dir, "ablation_table");
  write_report({dir, dir / "out", {"md", "csv", "html"}});
  const std::string md = slurp(dir / "out/tables.md");
  ASSERT_EQ(md.rfind("## Table 6: losses", 0), 0u) << md.substr(0, 300);
  EXPECT_NE(md.find("| Configuration | afew 5:2 AUROC | afew 5:2 OSCR |"), std::string::npos);
  const size_t a = md.find("| L_KN CE + L_H |"), b = md.find("| + SupCon |"),
               c = md.find("| + negative CLIP |");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  char want[32];
  std::snprintf(want, sizeof want, "| + SupCon | %.2f ± ", mean_auroc(dir, runs, "hesp-supcon"));
  EXPECT_NE(md.find(want), std::string::npos) << want << "\n" << md.substr(0, 800);
  EXPECT_NE(
      slurp(dir / "out/ablation.csv").find("Table 6: losses,+ SupCon,hesp-supcon,afew,5:2,auroc,"),
      std::string::npos);
  EXPECT_NE(slurp(dir / "out/index.html").find("<table class=\"results ablation\">"),
            std::string::npos);
  EXPECT_FALSE(stdfs::exists(dir / "out/figures/ablation_auroc.svg"));  // A table, not bars.
  stdfs::remove_all(dir);
}

TEST(Ablation, BarsHaveOneBarPerConfigurationAndColumn) {
  const auto dir = testing::fresh_dir("ablation_bars");
  ablation_sweep(dir, "ablation_bars");
  stdfs::remove_all(dir / "afew/hesp-all/5-2/split1");  // Incomplete: no bar, "n/a".
  write_report({dir, dir / "out", {"html"}});
  for (const char* f : {"figures/ablation_auroc.svg", "figures/ablation_oscr.svg"}) {
    const std::string svg = slurp(dir / "out" / f);
    std::map<std::string, int> counts;
    ASSERT_NO_THROW(counts = testing::check_xml(svg)) << f;
    const std::regex bar("class=\"bar\"");
    EXPECT_EQ(
        std::distance(std::sregex_iterator(svg.begin(), svg.end(), bar), std::sregex_iterator()), 2)
        << f;
    EXPECT_NE(svg.find(">n/a</text>"), std::string::npos);
    EXPECT_NE(svg.find("+ SupCon"), std::string::npos);  // Legend.
    EXPECT_NE(slurp(dir / "out/index.html").find(f), std::string::npos);
  }
  stdfs::remove_all(dir);
}

TEST(Ablation, FeaturePlotsHaveAPointPerTestClipAndUnknownInGrey) {
  const auto dir = testing::fresh_dir("features");
  testing::SweepSpec spec;
  spec.settings = {"afew"};
  spec.methods = {"hesp", "clip_zeroshot"};
  spec.openness_dirs = {"5-2"};
  spec.splits = 1;
  const auto runs = testing::write_sweep(dir, spec);
  for (const auto& r : runs) {
    const json j = json::parse(slurp(testing::result_path(dir, r)));
    run::TestFeatures f;
    const int64_t n = static_cast<int64_t>(j["clips"].size());
    f.features = torch::randn({n, 16});
    for (const auto& c : j["clips"]) {
      f.clip_ids.push_back(c["clip_id"]);
      f.labels.push_back(c["label"].get<int32_t>());
    }
    run::write_test_features(testing::result_path(dir, r).parent_path() / "test_features.h5", f);
    EXPECT_EQ(
        run::read_test_features(testing::result_path(dir, r).parent_path() / "test_features.h5")
            .clip_ids,
        f.clip_ids);
  }
  write_report({dir, dir / "out", {"html"}});
  for (const auto& r : runs) {
    const std::string svg = slurp(dir / "out/figures" / ("features_afew_" + r.method + ".svg"));
    const json j = json::parse(slurp(testing::result_path(dir, r)));
    std::map<std::string, int> counts;
    ASSERT_NO_THROW(counts = testing::check_xml(svg));
    EXPECT_EQ(counts["circle"], static_cast<int>(j["clips"].size()));
    int unknown = 0;
    for (const auto& c : j["clips"]) unknown += c["label"].get<int>() < 0;
    const std::regex grey("<circle [^>]*fill=\"#888888\"");
    EXPECT_EQ(
        std::distance(std::sregex_iterator(svg.begin(), svg.end(), grey), std::sregex_iterator()),
        unknown);
  }
  stdfs::remove_all(dir);
}

TEST(Ablation, PcaFindsTheAxesOfLargestVariance) {
  // Points a * 5 u + b * v (+ an offset) with u, v orthonormal in R^6: PCA gives (a * 5, b)
  // up to each axis' sign.
  torch::manual_seed(3);
  const auto q = std::get<0>(torch::linalg_qr(torch::randn({6, 6}, torch::kFloat64)));
  const auto u = q.select(1, 0), v = q.select(1, 1);
  // Centred and uncorrelated coordinates, so that u and v are exactly the principal axes.
  const auto a = torch::randn({40}, torch::kFloat64), b = torch::randn({40}, torch::kFloat64);
  const auto ac = a - a.mean();
  auto bc = b - b.mean();
  bc = bc - (bc.dot(ac) / ac.dot(ac)) * ac;
  const auto x = torch::outer(ac * 5, u) + torch::outer(bc, v) + 7.0;
  const auto p = pca_2d(x);
  EXPECT_TRUE(torch::allclose(p.select(1, 0).abs(), (ac * 5).abs(), 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(p.select(1, 1).abs(), bc.abs(), 1e-9, 1e-9));
  // Sign convention: the largest |coordinate| of each axis is positive.
  for (int j = 0; j < 2; ++j) {
    const auto col = p.select(1, j);
    EXPECT_GT(col[col.abs().argmax().item<int64_t>()].item<double>(), 0);
  }
}

}  // namespace
}  // namespace hesp::report
