#pragma once
// Preconditions of a run's data, checked before any training (issue 13 §1): a run that
// cannot produce its metrics must fail at start-up, not after its whole schedule.
//  1. Every known class has clips in the training split (after the validation hold-out).
//  2. The test split has clips of every known class and of at least one unknown class
//     (AUROC and OSCR need both; spec §9).
//  3. With data.validation_fraction > 0, the hold-out has every known class.
// `hesp train` checks them at start-up (run/run_data.h), `hesp sweep` for every run when
// it makes its plan (--dry-run and --list included). A failure is a PreconditionError
// (exit 2) whose one-line message names the setting, the split, the class and the counts.
#include <cstdint>
#include <string>
#include <vector>

#include "data/loader/dataset.h"
#include "util/errors.h"

namespace hesp::data {

class PreconditionError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

struct ClassCount {
  std::string name;
  int64_t clips = 0;
};

// What the checks look at: clip counts per class of a run's splits.
struct SelectionCounts {
  std::string setting;      // data.open_set.setting ("afew", ..., "custom").
  std::string train_split;  // As configured (may list several, comma-separated).
  std::string test_split;
  std::vector<ClassCount> train_known;  // Known classes in label order, before the hold-out.
  std::vector<ClassCount> test_known;   // Known classes in label order.
  std::vector<ClassCount> test_unknown;
  double validation_fraction = 0;  // data.validation_fraction.
};

// Clips of `dataset` per name of `classes` (canonical class names), in that order.
std::vector<ClassCount> count_clips(const Dataset& dataset,
                                    const std::vector<std::string>& classes);

// Every failed precondition, one sentence each; empty when all hold.
std::vector<std::string> precondition_problems(const SelectionCounts& counts);

// One line: "setting S: " and the problems joined by "; ". Empty when all hold.
std::string precondition_failure(const SelectionCounts& counts);

// Throws PreconditionError with precondition_failure() unless every precondition holds.
void check_preconditions(const SelectionCounts& counts);

}  // namespace hesp::data
