// AUROC, TNR at 95% TPR and OSCR on hand-computed cases and against brute-force
// definitions written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "metrics/oscr.h"
#include "metrics/ranking.h"

namespace hesp::metrics {
namespace {

// P(known > unknown) + 0.5 P(known == unknown) over all pairs: the definition, O(n m).
double pairwise_auroc(const std::vector<double>& known, const std::vector<double>& unknown) {
  double wins = 0;
  for (double k : known) {
    for (double u : unknown) wins += k > u ? 1.0 : (k == u ? 0.5 : 0.0);
  }
  return wins / static_cast<double>(known.size() * unknown.size());
}

TEST(Auroc, HandComputedWithATie) {
  // Pairs: 3>2, 3>0, 2=2 (1/2), 2>0, 1<2, 1>0 -> 4.5 of 6.
  EXPECT_DOUBLE_EQ(auroc({3, 2, 1}, {2, 0}), 0.75);
}

TEST(Auroc, ExtremesAndAllTied) {
  EXPECT_DOUBLE_EQ(auroc({5, 6}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({1, 2}, {3, 4}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({7, 7, 7}, {7, 7}), 0.5);
}

TEST(Auroc, MatchesPairwiseDefinitionWithManyTies) {
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> small(0, 6);  // Few distinct values: many ties.
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> known(37 + trial), unknown(23 + 2 * trial);
    for (auto& v : known) v = small(gen) * 0.5;
    for (auto& v : unknown) v = small(gen) * 0.5 - 0.5;
    EXPECT_NEAR(auroc(known, unknown), pairwise_auroc(known, unknown), 1e-12) << trial;
  }
}

TEST(TnrAtTpr, ThresholdKeepsAtLeast95PercentOfKnowns) {
  std::vector<double> known;
  for (int i = 1; i <= 20; ++i) known.push_back(i);
  // 19 of 20 knowns (95%) must stay at or above t: t = 2.
  EXPECT_DOUBLE_EQ(threshold_at_tpr(known), 2.0);
  // Unknowns strictly below 2: 0.5 and 1.5; the one at exactly 2 counts as known.
  EXPECT_DOUBLE_EQ(tnr_at_tpr(known, {0.5, 1.5, 2.0, 3.5, 10, 25}), 2.0 / 6.0);
}

TEST(TnrAtTpr, SmallSetsRoundTheKnownCountUp) {
  // 95% of 10 = 9.5 -> all 10 knowns must pass: t = the lowest known score.
  std::vector<double> known{10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_DOUBLE_EQ(threshold_at_tpr(known), 1.0);
  EXPECT_DOUBLE_EQ(tnr_at_tpr(known, {0, 0.99, 1, 5}), 0.5);
  // 50%: 5 knowns -> t = 6.
  EXPECT_DOUBLE_EQ(tnr_at_tpr(known, {0, 5.5, 6, 7}, 0.5), 0.5);
}

TEST(Oscr, HandComputedArplCurve) {
  // Sorted ascending: .1(u) .4(known, right) .5(u) .6(known, wrong) .9(known, right).
  // Points (FPR, CCR): (1, 2/3) (.5, 1/3) (.5, 1/3) (0, 1/3) (0,0) (0,0) (1,1);
  // trapezoids: .5 * (1/3 + 2/3) / 2 + .5 * (1/3 + 1/3) / 2 = 1/4 + 1/6.
  EXPECT_NEAR(oscr({0.9, 0.6, 0.4}, {true, false, true}, {0.5, 0.1}), 5.0 / 12.0, 1e-15);
}

TEST(Oscr, TieOrderPutsKnownsFirst) {
  // Tied: the known sorts first, so at k = 0 no correct known lies above it: area 0.
  EXPECT_DOUBLE_EQ(oscr({1.0}, {true}, {1.0}), 0.0);
  // Unknown strictly lower: the point (1, 1) appears and the area is 1/2 (ARPL's k + 1
  // index drops the lowest position from CCR, so a perfect split of two clips gives 1/2).
  EXPECT_DOUBLE_EQ(oscr({1.0}, {true}, {0.5}), 0.5);
  // A wrong known contributes nothing to CCR.
  EXPECT_DOUBLE_EQ(oscr({1.0}, {false}, {0.5}), 0.0);
}

// ARPL's compute_oscr transcribed with its O(n^2) sums and insertion-stable order.
double arpl_oscr_reference(const std::vector<double>& known, const std::vector<bool>& correct,
                           const std::vector<double>& unknown) {
  const size_t nk = known.size(), n = nk + unknown.size();
  std::vector<double> score(known);
  score.insert(score.end(), unknown.begin(), unknown.end());
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i) {  // Insertion sort: stable by construction.
    size_t pos = idx.size();
    while (pos > 0 && score[idx[pos - 1]] > score[i]) --pos;
    idx.insert(idx.begin() + static_cast<long>(pos), i);
  }
  std::vector<std::pair<double, double>> roc(n + 2, {0, 0});
  for (size_t k = 0; k + 1 < n; ++k) {
    double cc = 0, fp = 0;
    for (size_t p = k + 1; p < n; ++p) cc += idx[p] < nk && correct[idx[p]];
    for (size_t p = k; p < n; ++p) fp += idx[p] >= nk;
    roc[k] = {fp / unknown.size(), cc / nk};
  }
  roc[n + 1] = {1, 1};
  std::sort(roc.rbegin(), roc.rend());
  double area = 0;
  for (size_t j = 0; j + 1 < roc.size(); ++j) {
    area += (roc[j].first - roc[j + 1].first) * (roc[j].second + roc[j + 1].second) / 2;
  }
  return area;
}

// The knowns reordered as the tie rule sorts them (correct ones first), so that ARPL's
// stable sort meets tied knowns in the rule's order.
struct Knowns {
  std::vector<double> scores;
  std::vector<bool> correct;
};
Knowns correct_first(const std::vector<double>& known, const std::vector<bool>& correct) {
  Knowns out;
  for (bool want : {true, false}) {
    for (size_t i = 0; i < known.size(); ++i) {
      if (correct[i] != want) continue;
      out.scores.push_back(known[i]);
      out.correct.push_back(correct[i]);
    }
  }
  return out;
}

TEST(Oscr, MatchesQuadraticTranscriptionWithTies) {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> value(0, 5);
  std::bernoulli_distribution right(0.6);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<double> known(5 + trial), unknown(3 + trial / 2);
    std::vector<bool> correct(known.size());
    for (size_t i = 0; i < known.size(); ++i) {
      known[i] = value(gen);
      correct[i] = right(gen);
    }
    for (auto& u : unknown) u = value(gen) - 1;
    const auto k = correct_first(known, correct);
    EXPECT_NEAR(oscr(known, correct, unknown), arpl_oscr_reference(k.scores, k.correct, unknown),
                1e-12)
        << trial;
  }
}

TEST(Oscr, EqualsArplWithoutTiesWhateverTheOrder) {
  std::mt19937 gen(8);
  std::uniform_real_distribution<double> value(-3, 3);
  std::bernoulli_distribution right(0.5);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> known(4 + trial), unknown(2 + trial);
    std::vector<bool> correct(known.size());
    for (size_t i = 0; i < known.size(); ++i) {
      known[i] = value(gen);
      correct[i] = right(gen);
    }
    for (auto& u : unknown) u = value(gen);
    EXPECT_NEAR(oscr(known, correct, unknown), arpl_oscr_reference(known, correct, unknown), 1e-12)
        << trial;
  }
}

TEST(Oscr, TiedKnownsRightAndWrongInEitherOrderGiveTheRuleValue) {
  // Case 16: four knowns tied at 0.9 (two right, two wrong) above two unknowns. ARPL's
  // value depends on which tied known comes first; ours is the lower one, in any order.
  const std::vector<double> known{0.9, 0.9, 0.9, 0.9}, unknown{0.5, 0.5};
  const std::vector<bool> right_first{true, true, false, false},
      wrong_first{false, false, true, true};
  const double a = arpl_oscr_reference(known, right_first, unknown);
  const double b = arpl_oscr_reference(known, wrong_first, unknown);
  ASSERT_NE(a, b) << "the case no longer shows ARPL's order dependence";
  EXPECT_EQ(oscr(known, right_first, unknown), std::min(a, b));
  EXPECT_EQ(oscr(known, wrong_first, unknown), std::min(a, b));
}

TEST(Oscr, IsArplsLowestValueOverTheOrdersOfTiedKnowns) {
  // ARPL's input order matters only among the knowns (the unknowns are interchangeable,
  // and knowns come before unknowns): every order of the knowns, by brute force.
  std::mt19937 gen(21);
  std::uniform_int_distribution<int> value(0, 2);  // Three values: ties everywhere.
  std::bernoulli_distribution right(0.5);
  for (int trial = 0; trial < 25; ++trial) {
    const size_t nk = 3 + trial % 4, nu = 2 + trial % 3;
    std::vector<double> known(nk), unknown(nu);
    std::vector<bool> correct(nk);
    for (size_t i = 0; i < nk; ++i) {
      known[i] = value(gen);
      correct[i] = right(gen);
    }
    for (auto& u : unknown) u = value(gen);
    std::vector<size_t> perm(nk);
    std::iota(perm.begin(), perm.end(), size_t{0});
    double lowest = 2;
    do {
      std::vector<double> k;
      std::vector<bool> c;
      for (size_t i : perm) {
        k.push_back(known[i]);
        c.push_back(correct[i]);
      }
      lowest = std::min(lowest, arpl_oscr_reference(k, c, unknown));
    } while (std::next_permutation(perm.begin(), perm.end()));
    EXPECT_NEAR(oscr(known, correct, unknown), lowest, 1e-12) << trial;
  }
}

}  // namespace
}  // namespace hesp::metrics
