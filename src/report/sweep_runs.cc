#include "report/sweep_runs.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>
#include <set>
#include <tuple>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::report {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

// Openness values are matched to 4 decimals: a directory named "5-2" and a summary entry
// giving 0.15484... denote the same column.
int64_t openness_bucket(double openness) { return std::llround(openness * 1e4); }

template <typename T>
T field(const json& j, const char* key, const stdfs::path& path) {
  if (!j.contains(key)) throw UserError(path.string() + ": missing field '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw UserError(path.string() + ": field '" + key + "' has the wrong type");
  }
}

// "split<i>" or "split<i>-seed<s>" -> (i, s or -1).
std::optional<std::pair<int, int64_t>> split_of_dir(const std::string& name) {
  static const std::regex re("split([0-9]+)(-seed([0-9]+))?");
  std::smatch m;
  if (!std::regex_match(name, m, re)) return std::nullopt;
  return std::pair{std::stoi(m[1]), m[3].matched ? std::stoll(m[3]) : int64_t{-1}};
}

// The key of a run directory D/<setting>/<method>/<openness>/split<i>, relative to D.
std::optional<RunKey> key_of_run_dir(const stdfs::path& rel) {
  std::vector<std::string> parts;
  for (const auto& p : rel) parts.push_back(p.string());
  if (parts.size() != 4) return std::nullopt;
  const auto openness = openness_of_dir(parts[2]);
  const auto split = split_of_dir(parts[3]);
  if (!openness || !split) return std::nullopt;
  return RunKey{parts[0], parts[1], parts[2], *openness, split->first, split->second};
}

RunStatus parse_status(const std::string& s) {
  if (s == "done" || s == "finished") return RunStatus::kDone;
  if (s == "failed") return RunStatus::kFailed;
  return RunStatus::kMissing;  // "missing", "pending", "running", ...: not finished.
}

// One planned run of sweep_summary.json: its location (a "dir"/"run_dir"/"path" relative
// to D, or setting/method/openness/split fields) and its status.
std::optional<Run> parse_planned(const json& e, const stdfs::path& dir,
                                 const stdfs::path& summary) {
  if (!e.is_object()) throw UserError(summary.string() + ": a run entry is not an object");
  Run run;
  if (e.contains("status") && !e["status"].is_string()) {
    throw UserError(summary.string() + ": a run entry's 'status' is not a string");
  }
  run.sweep_status = e.value("status", std::string("missing"));
  run.status = parse_status(run.sweep_status);
  if (e.contains("error") && e["error"].is_string()) run.error = e["error"].get<std::string>();
  std::optional<RunKey> key;
  for (const char* k : {"dir", "run_dir", "path"}) {
    if (!e.contains(k) || !e[k].is_string()) continue;
    stdfs::path p = e[k].get<std::string>();
    if (p.filename() == "result.json") p = p.parent_path();
    if (p.is_absolute()) p = p.lexically_relative(dir);
    key = key_of_run_dir(p.lexically_normal());
    if (key) break;
  }
  if (!key && e.contains("setting") && e.contains("method") && e.contains("openness") &&
      e.contains("split")) {
    RunKey k;
    k.setting = field<std::string>(e, "setting", summary);
    k.method = field<std::string>(e, "method", summary);
    k.split = field<int>(e, "split", summary);
    const json& o = e["openness"];
    if (o.is_number()) {
      k.openness = o.get<double>();
      k.openness_dir = o.dump();
    } else if (o.is_string() && openness_of_dir(o.get<std::string>())) {
      k.openness_dir = o.get<std::string>();
      k.openness = *openness_of_dir(k.openness_dir);
    } else {
      throw UserError(summary.string() + ": run entry with an unreadable 'openness'");
    }
    key = k;
  }
  if (!key) return std::nullopt;
  run.key = *key;
  return run;
}

}  // namespace

bool RunKey::operator<(const RunKey& o) const {
  return std::make_tuple(setting, method, openness_bucket(openness), split, seed) <
         std::make_tuple(o.setting, o.method, openness_bucket(o.openness), o.split, o.seed);
}

std::optional<double> openness_of_dir(const std::string& name) {
  static const std::regex ku("([0-9]+)[-:]([0-9]+)");
  static const std::regex number("[0-9]*\\.?[0-9]+");
  std::smatch m;
  if (std::regex_match(name, m, ku)) {
    const double k = std::stod(m[1]), u = std::stod(m[2]);
    if (k + u <= 0) return std::nullopt;
    return 1.0 - std::sqrt(k / (k + u));
  }
  if (std::regex_match(name, number)) return std::stod(name);
  return std::nullopt;
}

RunResult load_result(const stdfs::path& path) {
  json j;
  try {
    j = json::parse(fs::read_file(path));
  } catch (const json::parse_error& e) {
    throw UserError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw UserError(path.string() + ": not a JSON object");
  RunResult r;
  r.method = field<std::string>(j, "method", path);
  r.openness = field<double>(j, "openness", path);
  r.known_classes = field<std::vector<std::string>>(j, "known_classes", path);
  r.unknown_classes = field<std::vector<std::string>>(j, "unknown_classes", path);
  const json metrics = field<json>(j, "metrics", path);
  if (!metrics.is_object()) throw UserError(path.string() + ": 'metrics' is not an object");
  const stdfs::path where = path.string() + " metrics";
  r.auroc = field<double>(metrics, "auroc", where);
  r.oscr = field<double>(metrics, "oscr", where);
  r.closed_set_accuracy = field<double>(metrics, "closed_set_accuracy", where);
  if (metrics.contains("confusion")) {
    r.confusion = field<std::vector<std::vector<int64_t>>>(metrics, "confusion", where);
    const size_t n = r.known_classes.size() + 1;
    bool square = r.confusion.size() == n;
    for (const auto& row : r.confusion) square = square && row.size() == n;
    if (!square) {
      throw UserError(path.string() + ": metrics.confusion is not (K+1)x(K+1) with K = " +
                      std::to_string(n - 1) + " known classes");
    }
  }
  r.selection_epoch = j.value("epochs", int64_t{0});
  if (j.contains("selection") && j["selection"].is_object()) {
    const json& s = j["selection"];
    r.selection_epoch = s.value("epoch", r.selection_epoch);
    r.chosen_on_validation = s.value("by", std::string("last_epoch")) == "validation";
  }
  if (j.contains("protocol")) {
    const json protocol = field<json>(j, "protocol", path);
    const stdfs::path at = path.string() + " protocol";
    RunProtocol p;
    p.clip_architecture = field<std::string>(protocol, "clip_architecture", at);
    p.datasets = field<std::vector<std::string>>(protocol, "datasets", at);
    r.protocol = std::move(p);
  }
  const json clips = field<json>(j, "clips", path);
  if (!clips.is_array()) throw UserError(path.string() + ": 'clips' is not an array");
  const auto k = static_cast<int64_t>(r.known_classes.size());
  for (size_t i = 0; i < clips.size(); ++i) {
    const stdfs::path at = path.string() + " clips[" + std::to_string(i) + "]";
    ClipScore c;
    c.clip_id = field<std::string>(clips[i], "clip_id", at);
    c.label = field<int64_t>(clips[i], "label", at);
    c.prediction = field<int64_t>(clips[i], "prediction", at);
    c.score = field<double>(clips[i], "score", at);
    if (c.label < -1 || c.label >= k) {
      throw UserError(at.string() + ": label " + std::to_string(c.label) + " outside [-1, " +
                      std::to_string(k) + ")");
    }
    if (!std::isfinite(c.score)) throw UserError(at.string() + ": score is not finite");
    r.clips.push_back(std::move(c));
  }
  return r;
}

std::vector<Run> load_sweep(const stdfs::path& dir, const stdfs::path& skip) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    throw UserError("sweep directory " + dir.string() + " does not exist or is not a directory");
  }
  std::map<RunKey, Run> runs;
  const stdfs::path skip_abs = skip.empty() ? stdfs::path() : stdfs::weakly_canonical(skip);
  for (auto it = stdfs::recursive_directory_iterator(dir);
       it != stdfs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && !skip_abs.empty() &&
        stdfs::weakly_canonical(it->path()) == skip_abs) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().filename() != "result.json") continue;
    const stdfs::path run_dir = it->path().parent_path();
    const auto key = key_of_run_dir(run_dir.lexically_relative(dir));
    if (!key) {
      throw UserError(it->path().string() +
                      ": not in the sweep layout <D>/<setting>/<method>/<K-U or openness>/"
                      "split<i>/result.json");
    }
    Run run;
    run.key = *key;
    run.status = RunStatus::kDone;
    run.result_path = it->path();
    run.result = load_result(it->path());
    // The directory is the method, or the method and a variant: "<method>-<variant>".
    const std::string& m = run.result->method;
    if (key->method != m && key->method.rfind(m + "-", 0) != 0) {
      throw UserError(it->path().string() + ": method '" + run.result->method +
                      "' disagrees with its directory '" + key->method + "'");
    }
    runs[*key] = std::move(run);
  }
  if (runs.empty()) throw UserError("no result.json found under " + dir.string());

  const stdfs::path summary = dir / "sweep_summary.json";
  if (stdfs::exists(summary)) {
    json doc;
    try {
      doc = json::parse(fs::read_file(summary));
    } catch (const json::parse_error& e) {
      throw UserError(summary.string() + ": not valid JSON (" + e.what() + ")");
    }
    const json* list = &doc;
    if (doc.is_object()) {
      if (!doc.contains("runs") || !doc["runs"].is_array()) {
        throw UserError(summary.string() + ": expected a 'runs' array");
      }
      list = &doc["runs"];
    } else if (!doc.is_array()) {
      throw UserError(summary.string() + ": expected an object with 'runs' or an array");
    }
    for (const json& e : *list) {
      auto planned = parse_planned(e, dir, summary);
      if (!planned)
        throw UserError(summary.string() + ": a run entry has no location: " + e.dump());
      auto found = runs.find(planned->key);
      if (found != runs.end()) continue;  // Its result.json is the truth.
      // Listed as done but its result.json is gone: count it as missing.
      if (planned->status == RunStatus::kDone) {
        planned->status = RunStatus::kMissing;
        planned->sweep_status = "listed as " + planned->sweep_status + " but has no result.json";
      }
      runs[planned->key] = std::move(*planned);
    }
  }
  std::vector<Run> out;
  for (auto& [key, run] : runs) out.push_back(std::move(run));
  return out;
}

}  // namespace hesp::report
