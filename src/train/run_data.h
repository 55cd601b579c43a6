#pragma once
// The data of one run: the open-set split resolved against the classes the manifests
// hold, the training set (known classes of the training split) and the test set (known and
// unknown classes of the test split), and a fingerprint of the manifests so that a resume
// on different data is refused.
#include <memory>
#include <string>

#include "config/experiment.pb.h"
#include "data/loader/dataset.h"
#include "data/selection/open_set_split.h"

namespace hesp::train {

struct RunData {
  data::OpenSetClasses classes;
  std::unique_ptr<data::Dataset> train;  // Known classes only, labels 0..K-1.
  std::unique_ptr<data::Dataset> test;   // Known (0..K-1) and unknown (-1) classes.
  std::string manifest_fingerprint;      // sha256 over the manifest files' bytes.
};

// Throws UserError/ConfigError naming the manifest, split or class at fault.
RunData open_run_data(const config::Experiment& exp);

}  // namespace hesp::train
