// Every case of the CLIP fixtures' metrics_golden.json (computed independently with
// sklearn and ARPL's compute_oscr) must be reproduced to 1e-9.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "metrics/open_set.h"
#include "metrics/scores_json.h"
#include "util/fs.h"

namespace hesp::metrics {
namespace {

const std::string kGolden =
    std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/metrics_golden.json";

nlohmann::json golden() { return nlohmann::json::parse(fs::read_file(kGolden)); }

TEST(MetricsGolden, FileHasTheDocumentedCases) {
  const auto g = golden();
  ASSERT_TRUE(g.contains("cases"));
  EXPECT_EQ(g["cases"].size(), g["num_cases"].get<size_t>());
  EXPECT_GE(g["cases"].size(), 6u);
}

TEST(MetricsGolden, MaxLogitScoreMatchesAurocMaxLogitAndOscr) {
  const auto g = golden();
  for (const auto& expected : g["cases"]) {
    const auto c = parse_score_case(expected, "golden");
    SCOPED_TRACE(c.name);
    const auto r = evaluate_open_set(c.known_logits, c.known_labels, c.unknown_logits, std::nullopt,
                                     {ScoreKind::kMaxLogit});
    EXPECT_NEAR(r.auroc, expected["auroc_max_logit"].get<double>(), 1e-9);
    EXPECT_NEAR(r.oscr, expected["oscr"].get<double>(), 1e-9);
    EXPECT_NEAR(r.closed_set_accuracy, expected["closed_set_accuracy"].get<double>(), 1e-9);
    EXPECT_EQ(r.n_known, expected["n_known"].get<int64_t>());
    EXPECT_EQ(r.n_unknown, expected["n_unknown"].get<int64_t>());
    EXPECT_EQ(r.num_known_classes, expected["num_classes"].get<int64_t>());
    EXPECT_FALSE(r.at_threshold.has_value());
  }
}

TEST(MetricsGolden, MspScoreMatchesAurocAndOscrOnSoftmax) {
  const auto g = golden();
  for (const auto& expected : g["cases"]) {
    const auto c = parse_score_case(expected, "golden");
    SCOPED_TRACE(c.name);
    const auto r = evaluate_open_set(c.known_logits, c.known_labels, c.unknown_logits, std::nullopt,
                                     {ScoreKind::kMsp});
    EXPECT_NEAR(r.auroc, expected["auroc"].get<double>(), 1e-9);
    EXPECT_NEAR(r.oscr, expected["oscr_on_softmax"].get<double>(), 1e-9);
    // The closed-set accuracy does not depend on the score kind.
    EXPECT_NEAR(r.closed_set_accuracy, expected["closed_set_accuracy"].get<double>(), 1e-9);
  }
}

TEST(MetricsGolden, Float32LogitsGiveTheSameResult) {
  // The golden logits are exactly representable in float32 (notes.logit_values), so the
  // model's float32 output must give the same numbers as the float64 parse.
  const auto g = golden();
  for (const auto& expected : g["cases"]) {
    const auto c = parse_score_case(expected, "golden");
    SCOPED_TRACE(c.name);
    const auto r =
        evaluate_open_set(c.known_logits.to(torch::kFloat), c.known_labels.to(torch::kInt),
                          c.unknown_logits.to(torch::kFloat), std::nullopt, {});
    EXPECT_NEAR(r.auroc, expected["auroc_max_logit"].get<double>(), 1e-9);
    EXPECT_NEAR(r.oscr, expected["oscr"].get<double>(), 1e-9);
  }
}

}  // namespace
}  // namespace hesp::metrics
