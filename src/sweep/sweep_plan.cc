#include "sweep/sweep_plan.h"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "config/config_loader.h"
#include "config/method_traits.h"
#include "config/validate.h"
#include "data/loader/preconditions.h"
#include "run/run_data.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::sweep {
namespace {

namespace stdfs = std::filesystem;

const std::set<std::string>& known_settings() {
  static const std::set<std::string> names = {"afew", "mafw", "fusion", "mafw_compound", "custom"};
  return names;
}

// Replaces ${VAR} by the environment's value, so one sweep file serves every machine
// (data and weights live in different places on a laptop and on a cluster).
std::string expand_env(const std::string& text, const std::string& where) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t open = text.find("${", pos);
    if (open == std::string::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string::npos)
      throw ConfigError(where + ": unterminated ${ in \"" + text + "\"");
    const std::string name = text.substr(open + 2, close - open - 2);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      throw ConfigError(where + ": \"" + text + "\" needs the environment variable " + name +
                        ", which is not set");
    }
    out += text.substr(pos, open - pos) + value;
    pos = close + 1;
  }
  return out + text.substr(pos);
}

std::string absolute_from(const std::string& raw, const stdfs::path& base_dir) {
  const stdfs::path p(expand_env(raw, "sweep path"));
  return (p.is_absolute() ? p : stdfs::absolute(base_dir / p)).lexically_normal().string();
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The splits file's list numbers with exactly `known` entries for `key` (case-insensitive).
std::vector<int> lists_with_known(const std::string& file, const std::string& key, int known,
                                  const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs::read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where + ": splits file " + file + " is not valid JSON: " + e.what());
  }
  if (!j.contains("splits") || !j["splits"].is_object()) {
    throw ConfigError(where + ": splits file " + file + " has no \"splits\" object");
  }
  for (const auto& [name, lists] : j["splits"].items()) {
    if (upper(name) != upper(key)) continue;
    std::vector<int> out;
    for (size_t i = 0; i < lists.size(); ++i) {
      if (lists[i].is_array() && static_cast<int>(lists[i].size()) == known) {
        out.push_back(static_cast<int>(i));
      }
    }
    return out;
  }
  throw ConfigError(where + ": splits file " + file + " has no dataset \"" + key + "\"");
}

std::string folder_name(const std::string& s, const std::string& where) {
  if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..") {
    throw ConfigError(where + ": \"" + s + "\" cannot be a folder name");
  }
  return s;
}

}  // namespace

void parse_openness(const std::string& text, const std::string& where, int* known, int* unknown) {
  const auto colon = text.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    size_t used = 0;
    *known = std::stoi(text.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("trailing");
    const std::string rest = text.substr(colon + 1);
    *unknown = std::stoi(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw ConfigError(where + ": openness \"" + text + "\" is not of the form K:U (e.g. 5:2)");
  }
  if (*known < 2 || *unknown < 1) {
    throw ConfigError(where + ": openness \"" + text + "\" needs K >= 2 known and U >= 1 unknown");
  }
}

int planned_epochs(const config::Experiment& exp) {
  const auto& s = exp.schedule();
  if (s.epochs() > 0) return s.epochs();
  switch (s.kind()) {
    case config::ScheduleConfig::reference:
      return 100;
    case config::ScheduleConfig::paper:
      return 200;
    default:
      return 1;
  }
}

SweepConfig load_sweep_config(const stdfs::path& path) {
  SweepConfig c;
  config::load_file_strict(path, &c);
  return c;
}

namespace {

// A setting's clip counts and precondition failure (empty = none), once per distinct data
// config (the same for every method, unless a variant changes it).
class DataChecker {
 public:
  struct DataCheck {
    int64_t train_clips = 0, test_clips = 0;
    std::string precondition_error;
  };

  // Opens the data of `exp` (the first time its data config is seen) and checks that its
  // split gives `known` known and `unknown` unknown classes; errors name `where`.
  const DataCheck& check(const config::Experiment& exp, const std::string& where,
                         const std::string& open_text, int known, int unknown) {
    const std::string key = config::to_text(exp.data());
    auto it = checked_.find(key);
    if (it != checked_.end()) return it->second;
    run::RunData rd;
    try {
      rd = run::open_run_data(exp, run::Preconditions::kReport);
    } catch (const UserError& e) {
      throw UserError(where + ": " + e.what(), e.exit_code());
    }
    const int k = static_cast<int>(rd.classes.known.size());
    const int u = static_cast<int>(rd.classes.unknown.size());
    if (k != known || u != unknown) {
      throw ConfigError(where + ": openness " + open_text +
                        " is not achievable with the classes present: the split gives " +
                        std::to_string(k) + " known and " + std::to_string(u) +
                        " unknown classes (" + rd.classes.description + ")");
    }
    DataCheck c;
    c.train_clips = rd.train->size();
    c.test_clips = rd.test->size();
    c.precondition_error = data::precondition_failure(rd.counts);
    return checked_.emplace(key, c).first->second;
  }

 private:
  std::map<std::string, DataCheck> checked_;
};

// The experiment every run starts from: base or base_file, base_set, and the CLIP weights'
// path made absolute.
config::Experiment base_experiment(const SweepConfig& config, const stdfs::path& base_dir,
                                   const std::string& sweep) {
  if (config.has_base() && config.has_base_file()) {
    throw ConfigError(sweep + ": set either base or base_file, not both");
  }
  config::Experiment base = config.base();
  if (config.has_base_file()) {
    config::load_file_strict(absolute_from(config.base_file(), base_dir), &base);
  }
  for (const auto& s : config.base_set()) {
    config::apply_override(expand_env(s, sweep + ", base_set"), &base);
  }
  if (!base.model().clip_weights().empty()) {
    base.mutable_model()->set_clip_weights(absolute_from(base.model().clip_weights(), base_dir));
  }
  return base;
}

// The sweep's methods (the base's when none is listed); a variant may only name those.
std::vector<config::Method> sweep_methods(const SweepConfig& config, const config::Experiment& base,
                                          const std::string& sweep) {
  std::vector<config::Method> methods;
  for (const int m : config.methods()) methods.push_back(static_cast<config::Method>(m));
  if (methods.empty()) methods.push_back(base.method());
  for (const auto& v : config.variants()) {
    for (const int m : v.methods()) {
      if (std::find(methods.begin(), methods.end(), static_cast<config::Method>(m)) ==
          methods.end()) {
        throw ConfigError(sweep + ", variant " + v.name() + ": method " +
                          config::Method_Name(static_cast<config::Method>(m)) +
                          " is not among the sweep's methods");
      }
    }
  }
  return methods;
}

// Expands the sweep config setting by setting into the plan's runs (expansion order:
// setting, openness, split, method, variant, seed).
class Planner {
 public:
  Planner(const SweepConfig& config, const stdfs::path& base_dir, bool check_data)
      : config_(config),
        base_dir_(base_dir),
        check_data_(check_data),
        sweep_("sweep \"" + config.name() + "\"") {
    plan_.config = config;
    base_ = base_experiment(config, base_dir, sweep_);
    if (config.settings_size() == 0) throw ConfigError(sweep_ + ": no settings");
    if (config.num_splits() < 1) throw ConfigError(sweep_ + ": num_splits must be >= 1");
    methods_ = sweep_methods(config, base_, sweep_);
    seeds_.assign(config.seeds().begin(), config.seeds().end());
    seed_in_name_ = seeds_.size() > 1;
    if (seeds_.empty()) seeds_.push_back(base_.train().seed());
    variants_.assign(config.variants().begin(), config.variants().end());
    if (variants_.empty()) variants_.emplace_back();
    if (config.splits().has_splits_file()) {
      splits_file_ = absolute_from(config.splits().splits_file(), base_dir);
    }
  }

  // Every run of setting `st`: each openness, split, method, variant and seed.
  void add_setting(const SettingConfig& st) {
    const std::string label = folder_name(st.has_label() ? st.label() : st.name(), sweep_);
    const std::string where = sweep_ + ", setting " + label;
    if (!known_settings().count(st.name())) {
      throw ConfigError(where + ": unknown setting \"" + st.name() +
                        "\" (afew, mafw, fusion, mafw_compound or custom)");
    }
    if (!labels_.insert(label).second) throw ConfigError(where + ": setting named twice");
    if (st.manifests_size() == 0) throw ConfigError(where + ": no manifests");
    if (st.openness_size() == 0) throw ConfigError(where + ": no openness values");
    for (const auto& open_text : st.openness()) {
      OpenSetCase c;
      c.label = label;
      c.open_text = open_text;
      parse_openness(open_text, where, &c.known, &c.unknown);
      c.fixed = st.known_classes_size() > 0;
      const std::string ow = where + ", openness " + open_text;
      const std::vector<int> file_lists = splits_file_lists(st, c, ow);
      for (int split = 0; split < config_.num_splits(); ++split) {
        c.split = split;
        c.where = ow + ", split " + std::to_string(split);
        add_runs(c, split_experiment(st, c, file_lists));
      }
    }
  }

  SweepPlan take() { return std::move(plan_); }

 private:
  // One setting, openness and split: what its runs share.
  struct OpenSetCase {
    std::string label;      // The setting's folder name.
    std::string open_text;  // "K:U" as written.
    int known = 0, unknown = 0;
    bool fixed = false;  // The setting lists its known classes.
    int split = 0;
    std::string where;  // "sweep "x", setting s, openness K:U, split i" for messages.
  };

  // The splits file's lists with K known classes for the setting's dataset (none without
  // a splits file or with fixed classes); at least num_splits of them.
  std::vector<int> splits_file_lists(const SettingConfig& st, const OpenSetCase& c,
                                     const std::string& where) const {
    if (c.fixed || splits_file_.empty()) return {};
    const std::string key = st.has_dataset_key() ? st.dataset_key() : st.name();
    std::vector<int> lists = lists_with_known(splits_file_, key, c.known, where);
    if (static_cast<int>(lists.size()) < config_.num_splits()) {
      throw ConfigError(where + ": splits file " + splits_file_ + " has " +
                        std::to_string(lists.size()) + " lists with " + std::to_string(c.known) +
                        " known classes for \"" + key + "\", " +
                        std::to_string(config_.num_splits()) + " splits wanted");
    }
    return lists;
  }

  // The base experiment with the setting's data and the split's open-set classes.
  config::Experiment split_experiment(const SettingConfig& st, const OpenSetCase& c,
                                      const std::vector<int>& file_lists) const {
    config::Experiment data_exp = base_;
    auto* d = data_exp.mutable_data();
    d->clear_manifests();
    for (const auto& m : st.manifests()) d->add_manifests(absolute_from(m, base_dir_));
    if (st.has_train_split()) d->set_train_split(st.train_split());
    if (st.has_test_split()) d->set_test_split(st.test_split());
    if (st.class_map_size() > 0) *d->mutable_class_map() = st.class_map();
    auto* os = d->mutable_open_set();
    os->Clear();
    os->set_setting(st.has_dataset_key() ? st.dataset_key() : st.name());
    if (c.fixed) {
      *os->mutable_known_classes() = st.known_classes();
    } else if (!splits_file_.empty()) {
      os->set_splits_file(splits_file_);
      os->set_split_index(file_lists[static_cast<size_t>(c.split)]);
    } else {
      os->set_num_known(c.known);
      os->set_num_unknown(c.unknown);
      os->set_split_seed(config_.splits().base_seed() + static_cast<uint64_t>(c.split));
    }
    *os->mutable_unknown_classes() = st.unknown_classes();
    for (const auto& s : st.set()) config::apply_override(s, &data_exp);
    return data_exp;
  }

  // The runs of one split: each method, its variants and each seed.
  void add_runs(const OpenSetCase& c, const config::Experiment& data_exp) {
    for (const auto method : methods_) {
      for (const Variant& variant : variants_) {
        if (variant.methods_size() > 0 &&
            std::find(variant.methods().begin(), variant.methods().end(), method) ==
                variant.methods().end()) {
          continue;  // This variant is for other methods only.
        }
        for (const uint64_t seed : seeds_) {
          plan_.runs.push_back(planned_run(c, data_exp, method, variant, seed));
        }
      }
    }
  }

  // One run: its folder, its validated experiment, its data's counts and its cost.
  PlannedRun planned_run(const OpenSetCase& c, const config::Experiment& data_exp,
                         config::Method method, const Variant& variant, uint64_t seed) {
    PlannedRun r;
    r.index = static_cast<int>(plan_.runs.size());
    r.setting = c.label;
    r.variant = variant.name();
    r.method = config::Method_Name(method);
    if (!r.variant.empty()) r.method += "-" + folder_name(r.variant, c.where);
    r.known = c.known;
    r.unknown = c.unknown;
    r.openness = 1.0 - std::sqrt(static_cast<double>(c.known) / (c.known + c.unknown));
    r.split = c.split;
    // Fixed class sets give the same split every time: the splits differ by seed.
    r.seed = c.fixed ? seed + static_cast<uint64_t>(c.split) : seed;
    std::string split_dir = "split" + std::to_string(c.split);
    if (seed_in_name_) split_dir += "-seed" + std::to_string(seed);
    r.rel_dir = stdfs::path(c.label) / r.method /
                (std::to_string(c.known) + "-" + std::to_string(c.unknown)) / split_dir;
    r.exp = data_exp;
    r.exp.set_method(method);
    for (const auto& s : variant.set()) config::apply_override(s, &r.exp);
    r.exp.mutable_train()->set_seed(r.seed);
    r.exp.set_name(config_.name() + "/" + r.rel_dir.string());
    config::validate_or_throw(r.exp, c.where + ", method " + r.method);
    r.config_hash = config::config_hash(r.exp);
    if (check_data_) {
      const auto& checked = data_.check(r.exp, c.where, c.open_text, c.known, c.unknown);
      r.train_clips = checked.train_clips;
      r.test_clips = checked.test_clips;
      r.precondition_error = checked.precondition_error;
    }
    r.cost = static_cast<double>(planned_epochs(r.exp)) *
                 static_cast<double>(std::max<int64_t>(r.train_clips, 1)) *
                 config::method_traits(method).sweep_cost +
             static_cast<double>(r.test_clips);
    return r;
  }

  const SweepConfig& config_;
  const stdfs::path base_dir_;
  const bool check_data_;
  const std::string sweep_;  // "sweep "<name>"" for messages.
  SweepPlan plan_;
  config::Experiment base_;
  std::vector<config::Method> methods_;
  std::vector<uint64_t> seeds_;
  bool seed_in_name_ = false;  // Several seeds: each gets its folder.
  std::vector<Variant> variants_;
  std::string splits_file_;       // Absolute; empty = none.
  std::set<std::string> labels_;  // The settings' folder names so far.
  DataChecker data_;
};

}  // namespace

SweepPlan make_plan(const SweepConfig& config, const stdfs::path& base_dir, bool check_data) {
  Planner planner(config, base_dir, check_data);  // The base, methods, seeds and variants.
  for (const auto& st : config.settings()) planner.add_setting(st);
  return planner.take();
}

std::vector<int> failing_preconditions(const SweepPlan& plan) {
  std::vector<int> out;
  for (const auto& r : plan.runs) {
    if (!r.precondition_error.empty()) out.push_back(r.index);
  }
  return out;
}

std::vector<int> longest_first(const SweepPlan& plan) {
  std::vector<int> order(plan.runs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return plan.runs[static_cast<size_t>(a)].cost > plan.runs[static_cast<size_t>(b)].cost;
  });
  return order;
}

}  // namespace hesp::sweep
