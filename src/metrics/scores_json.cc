#include "metrics/scores_json.h"

#include <set>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::metrics {
namespace {

using nlohmann::json;

// `key` is a C string: a std::string temporary would make GCC 14 flag the returned reference
// (-Wdangling-reference).
const json& require(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) throw UserError(where + ": expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) throw UserError(where + ": missing key '" + key + "'");
  return *it;
}

double number(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_number()) {
    throw UserError(where + " key '" + key + "': expected a number, got " + v.dump());
  }
  return v.get<double>();
}

// A non-empty [rows, cols] matrix; every row must have the same, non-zero length.
torch::Tensor matrix(const json& v, const std::string& where, const std::string& key) {
  if (!v.is_array() || v.empty()) {
    throw UserError(where + " key '" + key + "': expected a non-empty list of rows");
  }
  const size_t rows = v.size();
  size_t cols = 0;
  std::vector<double> values;
  for (size_t i = 0; i < rows; ++i) {
    const json& row = v[i];
    if (!row.is_array() || row.empty()) {
      throw UserError(where + " key '" + key + "': row " + std::to_string(i) +
                      " is not a non-empty list");
    }
    if (i == 0) cols = row.size();
    if (row.size() != cols) {
      throw UserError(where + " key '" + key + "': ragged rows: row " + std::to_string(i) +
                      " has " + std::to_string(row.size()) + " values, row 0 has " +
                      std::to_string(cols));
    }
    for (const json& x : row) values.push_back(number(x, where, key));
  }
  return torch::tensor(values, torch::kFloat64)
      .reshape({static_cast<int64_t>(rows), static_cast<int64_t>(cols)});
}

std::vector<double> vector_of_numbers(const json& v, const std::string& where,
                                      const std::string& key) {
  if (!v.is_array() || v.empty()) {
    throw UserError(where + " key '" + key + "': expected a non-empty list of numbers");
  }
  std::vector<double> out;
  for (const json& x : v) out.push_back(number(x, where, key));
  return out;
}

}  // namespace

ScoreCase parse_score_case(const json& j, const std::string& where) {
  ScoreCase c;
  if (j.is_object() && j.contains("name")) {
    if (!j["name"].is_string()) throw UserError(where + " key 'name': expected a string");
    c.name = j["name"].get<std::string>();
  }
  c.known_logits = matrix(require(j, "known_logits", where), where, "known_logits");
  c.unknown_logits = matrix(require(j, "unknown_logits", where), where, "unknown_logits");
  const int64_t k = c.known_logits.size(1);
  if (c.unknown_logits.size(1) != k) {
    throw UserError(where + " key 'unknown_logits': rows have " +
                    std::to_string(c.unknown_logits.size(1)) + " values but known_logits rows " +
                    "have " + std::to_string(k));
  }
  if (j.contains("num_classes")) {
    const json& nc = j["num_classes"];
    if (!nc.is_number_integer() || nc.get<int64_t>() != k) {
      throw UserError(where + " key 'num_classes': " + nc.dump() +
                      " does not match the logit rows' length " + std::to_string(k));
    }
  }
  const json& labels = require(j, "known_labels", where);
  if (!labels.is_array() || static_cast<int64_t>(labels.size()) != c.known_logits.size(0)) {
    throw UserError(where + " key 'known_labels': expected a list of " +
                    std::to_string(c.known_logits.size(0)) + " labels (one per known_logits row)");
  }
  std::vector<int64_t> y;
  for (size_t i = 0; i < labels.size(); ++i) {
    const json& v = labels[i];
    if (!v.is_number_integer()) {
      throw UserError(where + " key 'known_labels': entry " + std::to_string(i) +
                      " is not an integer: " + v.dump());
    }
    const int64_t label = v.get<int64_t>();
    if (label < 0 || label >= k) {
      throw UserError(where + " key 'known_labels': entry " + std::to_string(i) + " = " +
                      std::to_string(label) + " is out of range [0, " + std::to_string(k) + ")");
    }
    y.push_back(label);
  }
  c.known_labels = torch::tensor(y, torch::kInt64);
  if (j.contains("train_scores")) {
    c.train_scores = vector_of_numbers(j["train_scores"], where, "train_scores");
  }
  return c;
}

bool is_multi_case(const json& doc) { return doc.is_object() && doc.contains("cases"); }

std::vector<ScoreCase> parse_score_document(const json& doc, const std::string& source) {
  if (!doc.is_object()) throw UserError(source + ": expected a JSON object");
  if (!is_multi_case(doc)) return {parse_score_case(doc, source)};
  const json& cases = doc["cases"];
  if (!cases.is_array() || cases.empty()) {
    throw UserError(source + " key 'cases': expected a non-empty list of cases");
  }
  std::vector<ScoreCase> out;
  std::set<std::string> names;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const std::string at = source + " case #" + std::to_string(i);
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) {
      throw UserError(at + ": missing key 'name' (every entry of 'cases' needs one)");
    }
    const std::string name = c["name"].get<std::string>();
    if (!names.insert(name).second) throw UserError(at + ": duplicate case name '" + name + "'");
    out.push_back(parse_score_case(c, source + " case '" + name + "'"));
  }
  return out;
}

json result_to_json(const OpenSetResult& r) {
  json j;
  j["score"] = score_kind_name(r.score);
  j["num_known_classes"] = r.num_known_classes;
  j["n_known"] = r.n_known;
  j["n_unknown"] = r.n_unknown;
  j["auroc"] = r.auroc;
  j["oscr"] = r.oscr;
  j["closed_set_accuracy"] = r.closed_set_accuracy;
  j["tnr_at_95tpr"] = r.tnr_at_tpr;
  if (r.at_threshold) {
    j["threshold"] = r.at_threshold->threshold;
    j["open_set_accuracy"] = r.at_threshold->open_set_accuracy;
    j["macro_f1"] = r.at_threshold->macro_f1;
    j["confusion_matrix"] = r.at_threshold->confusion;
  }
  return j;
}

json evaluate_score_file(const std::string& path, const OpenSetOptions& options) {
  json doc;
  try {
    doc = json::parse(fs::read_file(path));
  } catch (const json::parse_error& e) {
    throw UserError(path + ": not valid JSON: " + e.what());
  }
  const auto cases = parse_score_document(doc, path);
  auto evaluate = [&](const ScoreCase& c) {
    return result_to_json(evaluate_open_set(c.known_logits, c.known_labels, c.unknown_logits,
                                            c.train_scores, options));
  };
  if (!is_multi_case(doc)) return evaluate(cases.front());
  json out = json::object();
  for (const auto& c : cases) out[c.name] = evaluate(c);
  return out;
}

}  // namespace hesp::metrics
