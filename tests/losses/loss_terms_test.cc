// Each HESP loss term against an independent computation written here with explicit loops
// in double, and finite-difference checks of the autograd gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "comm/communicator.h"
#include "losses/classification.h"
#include "losses/gather.h"
#include "losses/neg_clip.h"
#include "losses/reciprocal_points.h"
#include "losses/supcon.h"

namespace hesp::losses {
namespace {

const auto kDouble = torch::TensorOptions().dtype(torch::kFloat64);

double at(const torch::Tensor& t, int64_t i, int64_t j) { return t.index({i, j}).item<double>(); }

double log_sum_exp(const std::vector<double>& v) {
  double mx = v[0];
  for (double x : v) mx = std::max(mx, x);
  double s = 0;
  for (double x : v) s += std::exp(x - mx);
  return mx + std::log(s);
}

// SupCon by the definition (spec §7), nested loops.
double supcon_loops(const torch::Tensor& z, const std::vector<int64_t>& y, double tau) {
  const int64_t n = z.size(0), e = z.size(1);
  auto dot = [&](int64_t i, int64_t j) {
    double s = 0;
    for (int64_t d = 0; d < e; ++d) s += at(z, i, d) * at(z, j, d);
    return s;
  };
  double total = 0;
  int anchors = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> others;
    for (int64_t k = 0; k < n; ++k) {
      if (k != i) others.push_back(dot(i, k) / tau);
    }
    const double log_denominator = log_sum_exp(others);
    double sum = 0;
    int positives = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i || y[j] != y[i]) continue;
      sum += dot(i, j) / tau - log_denominator;
      ++positives;
    }
    if (positives == 0) continue;
    total += -tau * sum / positives;
    ++anchors;
  }
  return total / anchors;
}

// Central differences of a scalar function of `x` (double) vs its autograd gradient.
void expect_gradient_matches(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                             torch::Tensor x, double tol = 1e-7) {
  x = x.detach().clone().set_requires_grad(true);
  const torch::Tensor grad = torch::autograd::grad({f(x)}, {x})[0];
  const double h = 1e-6;
  auto flat = x.detach().clone().reshape({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += h;
    minus[i] -= h;
    const double numeric =
        (f(plus.reshape(x.sizes())).item<double>() - f(minus.reshape(x.sizes())).item<double>()) /
        (2 * h);
    EXPECT_NEAR(grad.reshape({-1})[i].item<double>(), numeric, tol) << "element " << i;
  }
}

torch::Tensor normalized_rows(int64_t n, int64_t e, int seed) {
  torch::manual_seed(seed);
  auto z = torch::randn({n, e}, kDouble);
  return z / z.norm(2, 1, true);
}

TEST(SupCon, SixSampleBatchMatchesNestedLoops) {
  comm::SingleCommunicator single;
  // Labels 2 and 3 occur once: those anchors have no positive and are left out.
  const std::vector<int64_t> y{0, 1, 0, 2, 1, 3};
  const auto labels = torch::tensor(y, torch::kLong);
  for (double tau : {0.5, 0.1, 2.0}) {
    const auto z = normalized_rows(6, 5, 3);
    EXPECT_NEAR(supcon(z, labels, tau, single).item<double>(), supcon_loops(z, y, tau), 1e-12)
        << "tau " << tau;
  }
  // All one class: every anchor counts.
  const std::vector<int64_t> same(6, 4);
  const auto z = normalized_rows(6, 3, 9);
  EXPECT_NEAR(supcon(z, torch::tensor(same, torch::kLong), 0.5, single).item<double>(),
              supcon_loops(z, same, 0.5), 1e-12);
}

TEST(SupCon, NoPositiveGivesZeroWithAGradient) {
  comm::SingleCommunicator single;
  auto z = normalized_rows(4, 3, 1).set_requires_grad(true);
  const auto loss = supcon(z, torch::tensor({0, 1, 2, 3}, torch::kLong), 0.5, single);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(torch::equal(z.grad(), torch::zeros_like(z)));
}

TEST(SupCon, StableForSmallTemperature) {
  comm::SingleCommunicator single;
  const std::vector<int64_t> y{0, 0, 1, 1};
  const auto z = normalized_rows(4, 3, 2);
  // exp(1 / 0.001) overflows double; the loss must stay finite.
  const double v = supcon(z, torch::tensor(y, torch::kLong), 0.001, single).item<double>();
  EXPECT_TRUE(std::isfinite(v));
  EXPECT_GE(v, 0.0);
}

TEST(SupCon, GradientMatchesFiniteDifferences) {
  comm::SingleCommunicator single;
  const auto labels = torch::tensor({0, 1, 0, 2, 1, 0}, torch::kLong);
  // Through the normalisation, as the model uses it.
  expect_gradient_matches(
      [&](const torch::Tensor& x) { return supcon(x / x.norm(2, 1, true), labels, 0.5, single); },
      torch::randn({6, 4}, kDouble));
}

TEST(GatherWithGrad, SingleRankIsIdentityWithGradient) {
  comm::SingleCommunicator single;
  auto x = torch::randn({3, 2}, kDouble).set_requires_grad(true);
  const auto g = gather_with_grad(x, single);
  EXPECT_TRUE(torch::equal(g, x));
  (g * torch::arange(6, kDouble).reshape({3, 2})).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::arange(6, kDouble).reshape({3, 2})));
}

TEST(NegLogits, ArplAndEuclideanMatchLoops) {
  torch::manual_seed(4);
  const auto f = torch::randn({5, 6}, kDouble), p = torch::randn({3, 6}, kDouble);
  const auto arpl = arpl_neg_logits(f, p), eucl = euclidean_neg_logits(f, p);
  ASSERT_EQ(arpl.sizes(), (std::vector<int64_t>{5, 3}));
  for (int64_t b = 0; b < 5; ++b) {
    for (int64_t k = 0; k < 3; ++k) {
      double sq = 0, dot = 0;
      for (int64_t e = 0; e < 6; ++e) {
        sq += std::pow(at(f, b, e) - at(p, k, e), 2);
        dot += at(f, b, e) * at(p, k, e);
      }
      EXPECT_NEAR(at(eucl, b, k), sq / 6, 1e-12);
      EXPECT_NEAR(at(arpl, b, k), sq / 6 - dot, 1e-12);
    }
  }
  EXPECT_TRUE(torch::equal(neg_logits(f, p, NegLogits::kArpl), arpl));
  EXPECT_TRUE(torch::equal(neg_logits(f, p, NegLogits::kEuclidean), eucl));
}

TEST(NegLogits, ArplGradientMatchesFiniteDifferences) {
  torch::manual_seed(6);
  const auto f = torch::randn({4, 5}, kDouble), p = torch::randn({3, 5}, kDouble);
  const auto weights = torch::randn({4, 3}, kDouble);  // A generic scalar of the logits.
  expect_gradient_matches(
      [&](const torch::Tensor& x) { return (arpl_neg_logits(x, p) * weights).sum(); }, f);
  expect_gradient_matches(
      [&](const torch::Tensor& x) { return (arpl_neg_logits(f, x) * weights).sum(); }, p);
}

TEST(MarginLoss, MatchesLoopsIncludingInactiveHinge) {
  torch::manual_seed(8);
  auto p = torch::randn({3, 4}, kDouble);
  auto f = torch::randn({5, 4}, kDouble);
  const std::vector<int64_t> y{2, 0, 1, 2, 0};
  // Sample 1 sits next to its point: distance ~0 < R - 1, so its hinge is off.
  f[1] = p[0] + 0.01;
  const auto radius = torch::tensor(1.5, kDouble);
  double expected = 0;
  for (int64_t b = 0; b < 5; ++b) {
    double sq = 0;
    for (int64_t e = 0; e < 4; ++e) sq += std::pow(at(f, b, e) - at(p, y[b], e), 2);
    expected += std::max(0.0, sq / 4 - 1.5 + 1);
  }
  expected /= 5;
  const auto labels = torch::tensor(y, torch::kLong);
  EXPECT_NEAR(margin_loss(f, p, labels, radius).item<double>(), expected, 1e-12);

  expect_gradient_matches([&](const torch::Tensor& x) { return margin_loss(x, p, labels, radius); },
                          f);
  expect_gradient_matches([&](const torch::Tensor& x) { return margin_loss(f, x, labels, radius); },
                          p);
  expect_gradient_matches([&](const torch::Tensor& x) { return margin_loss(f, p, labels, x); },
                          radius);
}

TEST(NegClipLoss, MatchesLoopsPlainAndSymmetric) {
  torch::manual_seed(10);
  const int64_t k = 4, e = 5;
  const auto img = torch::randn({k, e}, kDouble), txt = torch::randn({k, e}, kDouble);
  const double scale = 7.5;
  std::vector<std::vector<double>> logit(k, std::vector<double>(k));
  auto norm = [&](const torch::Tensor& t, int64_t i) {
    double s = 0;
    for (int64_t d = 0; d < e; ++d) s += at(t, i, d) * at(t, i, d);
    return std::sqrt(s);
  };
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < e; ++d) dot += at(img, i, d) * at(txt, j, d);
      logit[i][j] = scale * dot / (norm(img, i) * norm(txt, j));
    }
  }
  double rows = 0, cols = 0;
  for (int64_t i = 0; i < k; ++i) {
    std::vector<double> row, col;
    for (int64_t j = 0; j < k; ++j) {
      row.push_back(logit[i][j]);
      col.push_back(logit[j][i]);
    }
    rows += log_sum_exp(row) - logit[i][i];
    cols += log_sum_exp(col) - logit[i][i];
  }
  EXPECT_NEAR(neg_clip_loss(img, txt, scale, false).item<double>(), rows / k, 1e-12);
  EXPECT_NEAR(neg_clip_loss(img, txt, scale, true).item<double>(), rows / k + cols / k, 1e-12);
}

TEST(Classification, CrossEntropyAndHybridMatchLoops) {
  torch::manual_seed(12);
  const int64_t b = 4, k = 3;
  const auto s = torch::randn({b, k}, kDouble) * 3, l = torch::randn({b, k}, kDouble) * 3;
  const std::vector<int64_t> y{2, 0, 1, 1};
  const auto labels = torch::tensor(y, torch::kLong);
  double ce = 0, hybrid_logits = 0, hybrid_probs = 0;
  for (int64_t i = 0; i < b; ++i) {
    std::vector<double> srow, lrow, mean_row;
    for (int64_t j = 0; j < k; ++j) {
      srow.push_back(at(s, i, j));
      lrow.push_back(at(l, i, j));
      mean_row.push_back((at(s, i, j) + at(l, i, j)) / 2);
    }
    ce += log_sum_exp(srow) - srow[y[i]];
    hybrid_logits += log_sum_exp(mean_row) - mean_row[y[i]];
    const double ps = std::exp(srow[y[i]] - log_sum_exp(srow));
    const double pl = std::exp(lrow[y[i]] - log_sum_exp(lrow));
    hybrid_probs += -std::log((ps + pl) / 2);
  }
  EXPECT_NEAR(cross_entropy(s, labels).item<double>(), ce / b, 1e-12);
  EXPECT_NEAR(hybrid_loss(s, l, labels, Combine::kLogits).item<double>(), hybrid_logits / b, 1e-12);
  EXPECT_NEAR(hybrid_loss(s, l, labels, Combine::kProbs).item<double>(), hybrid_probs / b, 1e-12);
  // The combined prediction is a distribution in both modes.
  for (auto c : {Combine::kLogits, Combine::kProbs}) {
    EXPECT_TRUE(torch::allclose(combined_log_probs(s, l, c).exp().sum(1), torch::ones({b}, kDouble),
                                1e-12, 1e-12));
  }
}

TEST(Classification, ProbsCombineStaysFiniteWhenOneSoftmaxUnderflows) {
  // softmax(s) puts ~exp(-2000) on the label: the probs combine must still give log(1/2 p_l).
  const auto s = torch::tensor({{2000.0, 0.0}}, kDouble), l = torch::tensor({{0.0, 0.0}}, kDouble);
  const auto labels = torch::tensor({1}, torch::kLong);
  EXPECT_NEAR(hybrid_loss(s, l, labels, Combine::kProbs).item<double>(), -std::log(0.25), 1e-12);
}

TEST(Classification, HybridGradientMatchesFiniteDifferences) {
  torch::manual_seed(14);
  const auto s = torch::randn({3, 4}, kDouble), l = torch::randn({3, 4}, kDouble);
  const auto labels = torch::tensor({3, 0, 2}, torch::kLong);
  for (auto c : {Combine::kLogits, Combine::kProbs}) {
    expect_gradient_matches([&](const torch::Tensor& x) { return hybrid_loss(x, l, labels, c); },
                            s);
  }
}

}  // namespace
}  // namespace hesp::losses
