#include "sweep/sweep_plan.h"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config/config_loader.h"
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

double method_cost(config::Method method) {
  switch (method) {
    case config::hesp:
    case config::hesp_b1:
      return 1.0;
    case config::clip_arpl:
      return 0.3;  // No prompts through the towers, no Grad-CAM: cached-feature cost.
    case config::clip_zeroshot:
      return 0.0;  // No training: evaluation only.
  }
  return 1.0;
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

SweepPlan make_plan(const SweepConfig& config, const stdfs::path& base_dir, bool check_data) {
  SweepPlan plan;
  plan.config = config;
  const std::string sweep = "sweep \"" + config.name() + "\"";
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
  if (config.settings_size() == 0) throw ConfigError(sweep + ": no settings");
  if (config.num_splits() < 1) throw ConfigError(sweep + ": num_splits must be >= 1");

  std::vector<config::Method> methods;
  for (const int m : config.methods()) methods.push_back(static_cast<config::Method>(m));
  if (methods.empty()) methods.push_back(base.method());
  std::vector<uint64_t> seeds(config.seeds().begin(), config.seeds().end());
  const bool seed_in_name = seeds.size() > 1;
  if (seeds.empty()) seeds.push_back(base.train().seed());
  std::vector<Variant> variants(config.variants().begin(), config.variants().end());
  if (variants.empty()) variants.emplace_back();
  for (const auto& v : variants) {
    for (const int m : v.methods()) {
      if (std::find(methods.begin(), methods.end(), static_cast<config::Method>(m)) ==
          methods.end()) {
        throw ConfigError(sweep + ", variant " + v.name() + ": method " +
                          config::Method_Name(static_cast<config::Method>(m)) +
                          " is not among the sweep's methods");
      }
    }
  }
  const std::string splits_file = config.splits().has_splits_file()
                                      ? absolute_from(config.splits().splits_file(), base_dir)
                                      : "";

  // Per distinct data config (the same for every method, unless a variant changes it):
  // its clip counts and its precondition failure (empty = none).
  struct DataCheck {
    int64_t train_clips = 0, test_clips = 0;
    std::string precondition_error;
  };
  std::map<std::string, DataCheck> checked;
  auto check = [&](const config::Experiment& exp, const std::string& sw,
                   const std::string& open_text, int known, int unknown) -> const DataCheck& {
    const std::string key = config::to_text(exp.data());
    auto it = checked.find(key);
    if (it != checked.end()) return it->second;
    run::RunData rd;
    try {
      rd = run::open_run_data(exp, run::Preconditions::kReport);
    } catch (const UserError& e) {
      throw UserError(sw + ": " + e.what(), e.exit_code());
    }
    const int k = static_cast<int>(rd.classes.known.size());
    const int u = static_cast<int>(rd.classes.unknown.size());
    if (k != known || u != unknown) {
      throw ConfigError(sw + ": openness " + open_text +
                        " is not achievable with the classes present: the split gives " +
                        std::to_string(k) + " known and " + std::to_string(u) +
                        " unknown classes (" + rd.classes.description + ")");
    }
    DataCheck c;
    c.train_clips = rd.train->size();
    c.test_clips = rd.test->size();
    c.precondition_error = data::precondition_failure(rd.counts);
    return checked.emplace(key, c).first->second;
  };
  std::set<std::string> labels;
  for (const auto& st : config.settings()) {
    const std::string label = folder_name(st.has_label() ? st.label() : st.name(), sweep);
    const std::string where = sweep + ", setting " + label;
    if (!known_settings().count(st.name())) {
      throw ConfigError(where + ": unknown setting \"" + st.name() +
                        "\" (afew, mafw, fusion, mafw_compound or custom)");
    }
    if (!labels.insert(label).second) throw ConfigError(where + ": setting named twice");
    if (st.manifests_size() == 0) throw ConfigError(where + ": no manifests");
    if (st.openness_size() == 0) throw ConfigError(where + ": no openness values");
    const bool fixed = st.known_classes_size() > 0;
    for (const auto& open_text : st.openness()) {
      int known = 0, unknown = 0;
      parse_openness(open_text, where, &known, &unknown);
      const std::string ow = where + ", openness " + open_text;
      std::vector<int> file_lists;
      if (!fixed && !splits_file.empty()) {
        const std::string key = st.has_dataset_key() ? st.dataset_key() : st.name();
        file_lists = lists_with_known(splits_file, key, known, ow);
        if (static_cast<int>(file_lists.size()) < config.num_splits()) {
          throw ConfigError(ow + ": splits file " + splits_file + " has " +
                            std::to_string(file_lists.size()) + " lists with " +
                            std::to_string(known) + " known classes for \"" + key + "\", " +
                            std::to_string(config.num_splits()) + " splits wanted");
        }
      }
      for (int split = 0; split < config.num_splits(); ++split) {
        config::Experiment data_exp = base;
        auto* d = data_exp.mutable_data();
        d->clear_manifests();
        for (const auto& m : st.manifests()) d->add_manifests(absolute_from(m, base_dir));
        if (st.has_train_split()) d->set_train_split(st.train_split());
        if (st.has_test_split()) d->set_test_split(st.test_split());
        if (st.class_map_size() > 0) *d->mutable_class_map() = st.class_map();
        auto* os = d->mutable_open_set();
        os->Clear();
        os->set_setting(st.has_dataset_key() ? st.dataset_key() : st.name());
        if (fixed) {
          *os->mutable_known_classes() = st.known_classes();
        } else if (!splits_file.empty()) {
          os->set_splits_file(splits_file);
          os->set_split_index(file_lists[static_cast<size_t>(split)]);
        } else {
          os->set_num_known(known);
          os->set_num_unknown(unknown);
          os->set_split_seed(config.splits().base_seed() + static_cast<uint64_t>(split));
        }
        *os->mutable_unknown_classes() = st.unknown_classes();
        for (const auto& s : st.set()) config::apply_override(s, &data_exp);

        const std::string sw = ow + ", split " + std::to_string(split);
        for (const auto method : methods) {
          for (const Variant& variant : variants) {
            if (variant.methods_size() > 0 &&
                std::find(variant.methods().begin(), variant.methods().end(), method) ==
                    variant.methods().end()) {
              continue;  // This variant is for other methods only.
            }
            for (const uint64_t seed : seeds) {
              PlannedRun r;
              r.index = static_cast<int>(plan.runs.size());
              r.setting = label;
              r.variant = variant.name();
              r.method = config::Method_Name(method);
              if (!r.variant.empty()) r.method += "-" + folder_name(r.variant, sw);
              r.known = known;
              r.unknown = unknown;
              r.openness = 1.0 - std::sqrt(static_cast<double>(known) / (known + unknown));
              r.split = split;
              // Fixed class sets give the same split every time: the splits differ by seed.
              r.seed = fixed ? seed + static_cast<uint64_t>(split) : seed;
              std::string split_dir = "split" + std::to_string(split);
              if (seed_in_name) split_dir += "-seed" + std::to_string(seed);
              r.rel_dir = stdfs::path(label) / r.method /
                          (std::to_string(known) + "-" + std::to_string(unknown)) / split_dir;
              r.exp = data_exp;
              r.exp.set_method(method);
              for (const auto& s : variant.set()) config::apply_override(s, &r.exp);
              r.exp.mutable_train()->set_seed(r.seed);
              r.exp.set_name(config.name() + "/" + r.rel_dir.string());
              config::validate_or_throw(r.exp, sw + ", method " + r.method);
              r.config_hash = config::config_hash(r.exp);
              if (check_data) {
                const DataCheck& c = check(r.exp, sw, open_text, known, unknown);
                r.train_clips = c.train_clips;
                r.test_clips = c.test_clips;
                r.precondition_error = c.precondition_error;
              }
              r.cost = static_cast<double>(planned_epochs(r.exp)) *
                           static_cast<double>(std::max<int64_t>(r.train_clips, 1)) *
                           method_cost(method) +
                       static_cast<double>(r.test_clips);
              plan.runs.push_back(std::move(r));
            }
          }
        }
      }
    }
  }
  return plan;
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
