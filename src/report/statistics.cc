#include "report/statistics.h"

#include <glog/logging.h>

#include <cmath>
#include <limits>
#include <random>

namespace hesp::report {
namespace {

// The continued fraction of the incomplete beta function (modified Lentz), converging
// fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) break;
  }
  return h;
}

// The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1].
double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, int df) {
  CHECK_GE(df, 1);
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double x = df / (df + t * t);
  const double tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, x);  // P(T > |t|).
  return t >= 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, int df) {
  CHECK_GE(df, 1);
  CHECK(p > 0 && p < 1) << "quantile of p = " << p;
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, df);
  // Bracket, then bisect: the cdf is increasing, so this converges to double precision.
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    CHECK(std::isfinite(hi)) << "t quantile of p = " << p << " did not bracket";
  }
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

std::optional<TInterval> t_interval(const std::vector<double>& values, double level) {
  CHECK(level > 0 && level < 1);
  const int n = static_cast<int>(values.size());
  if (n < 2) return std::nullopt;
  double sum = 0;
  for (double v : values) sum += v;
  TInterval r;
  r.n = n;
  r.mean = sum / n;
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  const double s = std::sqrt(ss / (n - 1));
  r.half_width = student_t_quantile((1 + level) / 2, n - 1) * s / std::sqrt(static_cast<double>(n));
  r.low = r.mean - r.half_width;
  r.high = r.mean + r.half_width;
  return r;
}

SignFlipTest sign_flip_test(const std::vector<double>& d) {
  SignFlipTest r;
  r.n = static_cast<int>(d.size());
  if (d.empty()) return r;
  double observed = 0, scale = 0;
  for (double v : d) observed += v, scale += std::fabs(v);
  observed = std::fabs(observed);
  const double threshold = observed - 1e-9 * std::max(1.0, scale);
  r.smallest_possible_p = std::min(1.0, std::ldexp(2.0, -r.n));
  if (r.n <= kExactSignFlipMax) {
    // Gray code order: each pattern differs from the last in one sign, so its sum is one
    // update away. Pattern 0 (all signs +) is the observed one.
    std::vector<int> sign(d.size(), 1);
    double sum = 0;
    for (double v : d) sum += v;
    uint64_t at_least = 1;  // The observed pattern.
    const uint64_t patterns = uint64_t{1} << r.n;
    for (uint64_t k = 1; k < patterns; ++k) {
      const int bit = __builtin_ctzll(k);
      sum -= 2.0 * sign[static_cast<size_t>(bit)] * d[static_cast<size_t>(bit)];
      sign[static_cast<size_t>(bit)] = -sign[static_cast<size_t>(bit)];
      if (std::fabs(sum) >= threshold) ++at_least;
    }
    r.p = static_cast<double>(at_least) / static_cast<double>(patterns);
    return r;
  }
  // Too many patterns to enumerate: a seeded Monte Carlo estimate, (1 + hits) / (1 + draws).
  r.exact = false;
  constexpr uint64_t kDraws = uint64_t{1} << 20;
  std::mt19937_64 rng(20240601);
  uint64_t hits = 0;
  for (uint64_t k = 0; k < kDraws; ++k) {
    double sum = 0;
    uint64_t bits = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i % 64 == 0) bits = rng();
      sum += (bits & 1) ? d[i] : -d[i];
      bits >>= 1;
    }
    if (std::fabs(sum) >= threshold) ++hits;
  }
  r.p = static_cast<double>(1 + hits) / static_cast<double>(1 + kDraws);
  return r;
}

}  // namespace hesp::report
