#pragma once
// Open-Set Classification Rate (OSCR), reproduced from ARPL's compute_oscr so that our
// numbers compare with the papers built on it (HESP among them), with one deterministic
// rule for tied scores so that the value never depends on the order of the clips.
#include <vector>

namespace hesp::metrics {

// `known_scores[i]` / `known_correct[i]`: score of known clip i and whether its closed-set
// prediction was right; `unknown_scores`: scores of the unknown clips.
// ARPL's procedure, quirks included:
//  - all n scores sorted ascending (score_order.h: NaN above every number);
//  - for k = 0..n-2: CCR_k = #correct knowns at sorted positions k+1..n-1 / n_known and
//    FPR_k = #unknowns at sorted positions k..n-1 / n_unknown (k+1 vs k is deliberate);
//  - point n-1 stays (0, 0), plus (0, 0) and (1, 1) are appended;
//  - the n+2 points are sorted descending by (FPR, CCR) and integrated by trapezoids.
// Tie rule: among equal scores, correct knowns sort first, then wrong knowns, then
// unknowns. ARPL's stable sort already puts tied knowns before unknowns, but leaves tied
// knowns in input order, which changes the curve when a tie mixes right and wrong
// predictions (and numpy's default argsort is not stable beyond 16 elements). The rule
// resolves every tie against the detector (an unknown above a known, a wrong known
// above a right one): the value is ARPL's lowest over the orders of the tied clips, and
// equals ARPL's value whenever that does not depend on the order (e.g. no tied scores).
// The result is a function of the multiset of (score, correct) and unknown scores alone.
// O(n log n) with suffix counts instead of ARPL's O(n^2) sums. Both lists non-empty.
double oscr(const std::vector<double>& known_scores, const std::vector<bool>& known_correct,
            const std::vector<double>& unknown_scores);

}  // namespace hesp::metrics
