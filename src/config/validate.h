#pragma once
// Semantic checks of an experiment. Every problem is collected (not just the first), each
// phrased "<field path> must ... (got <value>)", so that a user fixes a config in one go.
#include <string>
#include <vector>

#include "config/experiment.pb.h"

namespace hesp::config {

std::vector<std::string> validation_problems(const Experiment& exp);

// Throws ConfigError listing every problem, prefixed by `source`, if there is any.
void validate_or_throw(const Experiment& exp, const std::string& source);

}  // namespace hesp::config
