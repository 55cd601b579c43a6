#pragma once
// The one order of scores every metric sorts by, so that no metric depends on the order of
// its input rows: ascending by value, NaN above every number (numpy's sort order, and a
// strict weak order, which a plain `<` is not once a NaN appears). -0.0 equals 0.0.
#include <cmath>

namespace hesp::metrics {

inline bool score_less(double a, double b) { return a < b || (!std::isnan(a) && std::isnan(b)); }

// Neither is below the other: equal values, or both NaN.
inline bool score_tied(double a, double b) { return !score_less(a, b) && !score_less(b, a); }

}  // namespace hesp::metrics
