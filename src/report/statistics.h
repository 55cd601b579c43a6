#pragma once
// The small-sample statistics of `hesp report` (docs/report.md, "Statistics"): Student's t
// distribution (for 95% confidence intervals over the class splits), the t interval of a
// mean, and the exact sign-flip permutation test of paired differences. Plain C++: the
// t distribution comes from the regularized incomplete beta function (continued fraction,
// Lentz's method, as in Numerical Recipes §6.4), no statistics library.
#include <cstdint>
#include <optional>
#include <vector>

namespace hesp::report {

// P(T <= t) for Student's t with `df` >= 1 degrees of freedom; accurate to ~1e-12.
double student_t_cdf(double t, int df);

// The p-quantile of Student's t with `df` >= 1 degrees of freedom, p in (0, 1)
// (e.g. student_t_quantile(0.975, 4) = 2.776445...). CHECK-fails outside those ranges.
double student_t_quantile(double p, int df);

// A two-sided confidence interval of a mean from n values: mean ± t_{(1+level)/2, n-1} *
// s / sqrt(n), s the sample standard deviation (n - 1).
struct TInterval {
  int n = 0;
  double mean = 0;
  double half_width = 0;  // t * s / sqrt(n).
  double low = 0, high = 0;
  bool contains(double v) const { return low <= v && v <= high; }
};

// nullopt for fewer than 2 values (no spread to estimate). level in (0, 1).
std::optional<TInterval> t_interval(const std::vector<double>& values, double level = 0.95);

// The exact two-sided sign-flip (paired permutation) test of H0 "the paired differences are
// symmetric about 0": p = the share of the 2^n sign patterns s whose |sum s_i d_i| is at
// least the observed |sum d_i| (ties within 1e-9 relative count as "at least"). For n up to
// kExactSignFlipMax every pattern is enumerated; above that, 2^20 random patterns (a fixed
// seed, so the report is reproducible) estimate p and `exact` is false.
struct SignFlipTest {
  int n = 0;
  double p = 1;
  // The smallest p any data of n pairs can give: 2 / 2^n (1/16 for 5 pairs).
  double smallest_possible_p = 1;
  bool exact = true;
};
inline constexpr int kExactSignFlipMax = 24;
SignFlipTest sign_flip_test(const std::vector<double>& differences);

}  // namespace hesp::report
