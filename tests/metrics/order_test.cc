// Every metric is a function of the clips' (scores, labels, predictions), never of the
// order of the rows (the order in which ranks gather them, or a file lists them): the
// rows shuffled give bit-identical results, with many tied scores, tied arg-maxes, fully
// flat rows and a NaN row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "metrics/open_set.h"

namespace hesp::metrics {
namespace {

// Rows of small integer logits (ties in max logit, MSP and arg-max), a duplicated
// known/unknown row, a flat row and a NaN row.
struct Rows {
  torch::Tensor known_logits, known_labels, unknown_logits;
  std::vector<double> train_scores;
};

Rows tied_rows(uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> logit(0, 2), label(0, 3);
  const int64_t n = 40, m = 25, k = 4;
  auto known = torch::empty({n, k}, torch::kFloat64),
       unknown = torch::empty({m, k}, torch::kFloat64);
  auto labels = torch::empty({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) known[i][j] = logit(gen);
    labels[i] = label(gen);
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < k; ++j) unknown[i][j] = logit(gen);
  }
  unknown[0].copy_(known[0]);                                // A known twin.
  known[1].fill_(1.0);                                       // Flat.
  unknown[1][2] = std::numeric_limits<double>::quiet_NaN();  // NaN score.
  Rows r{known, labels, unknown, {}};
  for (int i = 0; i < 30; ++i) r.train_scores.push_back(logit(gen) * 0.5);
  return r;
}

torch::Tensor shuffled_index(int64_t n, std::mt19937& gen) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  std::shuffle(p.begin(), p.end(), gen);
  return torch::tensor(p, torch::kLong);
}

// Bitwise equality of doubles, NaN equal to NaN.
bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

void expect_identical(const OpenSetResult& a, const OpenSetResult& b) {
  EXPECT_TRUE(same(a.auroc, b.auroc)) << a.auroc << " vs " << b.auroc;
  EXPECT_TRUE(same(a.oscr, b.oscr)) << a.oscr << " vs " << b.oscr;
  EXPECT_TRUE(same(a.closed_set_accuracy, b.closed_set_accuracy));
  EXPECT_TRUE(same(a.tnr_at_tpr, b.tnr_at_tpr)) << a.tnr_at_tpr << " vs " << b.tnr_at_tpr;
  ASSERT_EQ(a.at_threshold.has_value(), b.at_threshold.has_value());
  if (!a.at_threshold) return;
  EXPECT_TRUE(same(a.at_threshold->threshold, b.at_threshold->threshold));
  EXPECT_TRUE(same(a.at_threshold->open_set_accuracy, b.at_threshold->open_set_accuracy));
  EXPECT_TRUE(same(a.at_threshold->macro_f1, b.at_threshold->macro_f1));
  EXPECT_EQ(a.at_threshold->confusion, b.at_threshold->confusion);
}

TEST(MetricsOrder, ShuffledRowsGiveIdenticalMetricsForEveryScore) {
  std::mt19937 gen(3);
  for (uint32_t seed = 0; seed < 8; ++seed) {
    const auto r = tied_rows(seed);
    for (ScoreKind score : {ScoreKind::kMaxLogit, ScoreKind::kMsp}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " score " + score_kind_name(score));
      const auto base = evaluate_open_set(r.known_logits, r.known_labels, r.unknown_logits,
                                          r.train_scores, {score});
      for (int s = 0; s < 5; ++s) {
        const auto ki = shuffled_index(r.known_logits.size(0), gen);
        const auto ui = shuffled_index(r.unknown_logits.size(0), gen);
        auto train = r.train_scores;
        std::shuffle(train.begin(), train.end(), gen);
        expect_identical(base,
                         evaluate_open_set(r.known_logits.index_select(0, ki),
                                           r.known_labels.index_select(0, ki),
                                           r.unknown_logits.index_select(0, ui), train, {score}));
      }
    }
  }
}

TEST(MetricsOrder, TheRuleGivesDocumentedValuesOnAllTiedRows) {
  // Case 16's all-equal case: 30 knowns and 30 unknowns with one logit row; which known
  // is right changes with the labels' order. Every tie goes against the detector: OSCR 0,
  // AUROC 1/2, nothing below the threshold.
  const auto logits = torch::full({30, 3}, 0.5, torch::kFloat64);
  for (int shift : {0, 1}) {
    std::vector<int64_t> labels;
    for (int i = 0; i < 30; ++i) labels.push_back((i + shift) % 3);
    const auto r = evaluate_open_set(logits, torch::tensor(labels), logits, std::nullopt, {});
    EXPECT_EQ(r.oscr, 0.0);
    EXPECT_EQ(r.auroc, 0.5);
    EXPECT_EQ(r.tnr_at_tpr, 0.0);
  }
}

}  // namespace
}  // namespace hesp::metrics
