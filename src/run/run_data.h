#pragma once
// The data of one run: the open-set split resolved against the classes the manifests
// hold, the training set (known classes of the training split, less the validation
// hold-out), the validation hold-out (data.validation_fraction > 0; spec §9), the test set
// (known and unknown classes of the test split), the clip counts the preconditions check
// (data/loader/preconditions.h), and a fingerprint of the manifests so that a resume on
// different data is refused.
#include <memory>
#include <string>
#include <vector>

#include "config/experiment.pb.h"
#include "data/loader/dataset.h"
#include "data/loader/preconditions.h"
#include "data/selection/open_set_split.h"
#include "run/run_identity.h"

namespace hesp::run {

struct RunData {
  data::OpenSetClasses classes;
  std::unique_ptr<data::Dataset> train;  // Known classes only, labels 0..K-1.
  // The seeded, class-stratified hold-out of the known training clips (validation_holdout.h,
  // seed train.seed); null when data.validation_fraction is 0.
  std::unique_ptr<data::Dataset> validation;
  std::unique_ptr<data::Dataset> test;  // Known (0..K-1) and unknown (-1) classes.
  data::SelectionCounts counts;         // What the preconditions look at.
  std::string manifest_fingerprint;     // The data's identity by content (run_identity.h).
  DataIdentity identity;                // Its lines, and the fingerprint of older runs.
  // Each manifest's source_format ("afew", "mafw", ...), in data.manifests order: what
  // result.json's "protocol" records of the data (docs/report.md).
  std::vector<std::string> dataset_formats;
};

enum class Preconditions {
  kEnforce,  // Throw data::PreconditionError (exit 2) when one fails.
  kReport,   // Leave it to the caller (the sweep marks the run failed and goes on).
};

// Throws UserError/ConfigError naming the manifest, split or class at fault, and
// data::PreconditionError (kEnforce) when a precondition fails.
RunData open_run_data(const config::Experiment& exp,
                      Preconditions preconditions = Preconditions::kEnforce);

}  // namespace hesp::run
