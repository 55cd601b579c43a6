#pragma once
// Open-Set Classification Rate (OSCR), reproduced from ARPL's compute_oscr so that our
// numbers compare with the papers built on it (HESP among them).
#include <vector>

namespace hesp::metrics {

// `known_scores[i]` / `known_correct[i]`: score of known clip i and whether its closed-set
// prediction was right; `unknown_scores`: scores of the unknown clips.
// ARPL's procedure, quirks included:
//  - scores = known (input order) then unknown (input order), stably sorted ascending, so
//    equal scores keep knowns before unknowns, each in input order;
//  - for k = 0..n-2: CCR_k = #correct knowns at sorted positions k+1..n-1 / n_known and
//    FPR_k = #unknowns at sorted positions k..n-1 / n_unknown (k+1 vs k is deliberate);
//  - point n-1 stays (0, 0), plus (0, 0) and (1, 1) are appended;
//  - the n+2 points are sorted descending by (FPR, CCR) and integrated by trapezoids.
// O(n log n) with suffix counts instead of ARPL's O(n^2) sums. Both lists non-empty.
double oscr(const std::vector<double>& known_scores, const std::vector<bool>& known_correct,
            const std::vector<double>& unknown_scores);

}  // namespace hesp::metrics
