#include "report/sweep_runs.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>
#include <set>
#include <tuple>

#include "run/run_directory.h"
#include "run/run_result.h"
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
    if (p.filename() == run::RunDirectory::kResultFile) p = p.parent_path();
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
  const run::RunResult in = run::read_run_result(path);
  RunResult r;
  r.method = in.method;
  r.openness = in.openness;
  r.known_classes = in.known_classes;
  r.unknown_classes = in.unknown_classes;
  r.auroc = in.metrics.auroc;
  r.oscr = in.metrics.oscr;
  r.closed_set_accuracy = in.metrics.closed_set_accuracy;
  if (in.metrics.at_threshold && !in.metrics.at_threshold->confusion.empty()) {
    r.confusion = in.metrics.at_threshold->confusion;
    const size_t n = r.known_classes.size() + 1;
    bool square = r.confusion.size() == n;
    for (const auto& row : r.confusion) square = square && row.size() == n;
    if (!square) {
      throw UserError(path.string() + ": metrics.confusion is not (K+1)x(K+1) with K = " +
                      std::to_string(n - 1) + " known classes");
    }
  }
  // Files written before "selection" existed: the last epoch.
  r.selection_epoch = in.selection ? in.selection->epoch : in.epochs;
  r.chosen_on_validation = in.selection && in.selection->by == "validation";
  if (in.protocol) r.protocol = RunProtocol{in.protocol->clip_architecture, in.protocol->datasets};
  const auto k = static_cast<int64_t>(r.known_classes.size());
  for (size_t i = 0; i < in.clips.size(); ++i) {
    const std::string at = path.string() + " clips[" + std::to_string(i) + "]";
    const run::RunClip& c = in.clips[i];
    if (c.label < -1 || c.label >= k) {
      throw UserError(at + ": label " + std::to_string(c.label) + " outside [-1, " +
                      std::to_string(k) + ")");
    }
    if (!std::isfinite(c.score)) throw UserError(at + ": score is not finite");
    r.clips.push_back({c.clip_id, c.label, c.prediction, c.score});
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
    if (!it->is_regular_file() || it->path().filename() != run::RunDirectory::kResultFile) continue;
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
