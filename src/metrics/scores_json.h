#pragma once
// The JSON exchange format of `hesp metrics`: logits of known and unknown test clips (the
// case format of tests/data/fixtures/clip/metrics_golden.json) in, metrics out.
//   case:  {"name"?, "num_classes"?, "known_logits": [[...], ...], "known_labels": [...],
//           "unknown_logits": [[...], ...], "train_scores"?: [...]}
//   file:  one case object, or {"cases": [case, ...]} where every case has a unique name.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "metrics/open_set.h"

namespace hesp::metrics {

struct ScoreCase {
  std::string name;              // "" for a single-case file without a name.
  torch::Tensor known_logits;    // [n, K] float64.
  torch::Tensor known_labels;    // [n] int64.
  torch::Tensor unknown_logits;  // [m, K] float64.
  std::optional<std::vector<double>> train_scores;
};

// Parses and validates one case; `where` names it in errors ("scores.json case 'x'").
// Throws UserError naming the case and the key on a missing key, a ragged or empty matrix,
// a non-numeric value, or a label outside [0, K).
ScoreCase parse_score_case(const nlohmann::json& j, const std::string& where);

// Whether the document is a {"cases": [...]} file.
bool is_multi_case(const nlohmann::json& doc);

// All cases of a document (a single case becomes a list of one).
std::vector<ScoreCase> parse_score_document(const nlohmann::json& doc, const std::string& source);

nlohmann::json result_to_json(const OpenSetResult& r);

// Reads `path`, evaluates every case and returns the output document: the result object
// of a single-case file, or {name: result, ...} for a file with a `cases` list.
nlohmann::json evaluate_score_file(const std::string& path, const OpenSetOptions& options);

}  // namespace hesp::metrics
