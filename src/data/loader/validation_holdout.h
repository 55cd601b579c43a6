#pragma once
// The validation hold-out of best-by-validation model selection (spec §9): a seeded,
// class-stratified fraction of the known training clips, kept out of training and
// evaluated every evaluation epoch (data.validation_fraction, eval.best_by_validation).
//
// Per known class c with n_c training clips, holdout_count(n_c, fraction) clips are held
// out: the class's clips sorted by clip id, permuted by a Fisher-Yates shuffle driven by
// KeyedRng(seed, 0, kValidationHoldOut, c) (rng.h: fixed by the standard and our own
// formulas), first ones to validation. The result depends on the clips, the fraction and
// the seed only: the same on every rank, for every world size, and for every order in
// which the clips were packed.
#include <cstdint>
#include <vector>

#include "data/loader/dataset.h"

namespace hesp::data {

// Clips held out of a class with `clips` training clips: round(fraction * clips), halves
// rounded up. fraction in [0, 1).
int64_t holdout_count(int64_t clips, double fraction);

struct HoldOut {
  std::vector<int64_t> train;       // Dataset indices kept for training, ascending.
  std::vector<int64_t> validation;  // Dataset indices held out, ascending.
};

// Splits `train` (known classes only: every clip has a label 0..K-1). fraction 0 = every
// clip trains. CHECK-fails on a clip without a known label.
HoldOut split_validation(const Dataset& train, double fraction, uint64_t seed);

}  // namespace hesp::data
