#include "data/selection/open_set_split.h"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::data {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// Unbiased integer in [0, bound): rejection of the incomplete top range of 2^64.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % bound;
}

class ClassIndex {
 public:
  explicit ClassIndex(const std::vector<std::string>& names) : names_(names) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (!index_.emplace(names[i], static_cast<int>(i)).second) {
        throw ConfigError("class '" + names[i] + "' appears twice in the dataset's class list");
      }
    }
  }
  int at(const std::string& name, const std::string& field) const {
    auto it = index_.find(name);
    if (it == index_.end()) {
      throw ConfigError(field + ": class '" + name + "' is not among the dataset's classes (" +
                        join(names_) + ")");
    }
    return it->second;
  }
  // Names of a set of indices, in label order.
  std::vector<std::string> names_of(std::set<int> ids) const {
    std::vector<std::string> out;
    for (int i : ids) out.push_back(names_[i]);
    return out;
  }
  int size() const { return static_cast<int>(names_.size()); }

 private:
  const std::vector<std::string>& names_;
  std::map<std::string, int> index_;
};

std::set<int> indices_of(const ClassIndex& idx,
                         const google::protobuf::RepeatedPtrField<std::string>& names,
                         const std::string& field) {
  std::set<int> out;
  for (const auto& n : names) {
    if (!out.insert(idx.at(n, field)).second) {
      throw ConfigError(field + ": class '" + n + "' is listed twice");
    }
  }
  return out;
}

struct FileSplit {
  std::vector<std::string> known;
  std::vector<std::string> universe;  // The file's label order for the dataset.
  std::string description;
};

FileSplit read_split_file(const config::OpenSetSplit& s, const std::string& dataset_key,
                          const std::filesystem::path& base_dir) {
  std::filesystem::path path = s.splits_file();
  if (path.is_relative() && !base_dir.empty()) path = base_dir / path;
  const std::string where = "data.open_set.splits_file " + path.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where + ": not valid JSON (" + e.what() + ")");
  } catch (const UserError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  if (!j.is_object() || !j.contains("splits") || !j["splits"].is_object() ||
      !j.contains("label_order") || !j["label_order"].is_object()) {
    throw ConfigError(where + ": expected an object with \"label_order\" and \"splits\" objects");
  }
  // Dataset key: explicit, else the setting, matched case-insensitively.
  const std::string wanted = dataset_key.empty() ? s.setting() : dataset_key;
  std::string key;
  std::vector<std::string> available;
  for (const auto& [k, v] : j["splits"].items()) {
    available.push_back(k);
    if (k == wanted || (key.empty() && lower(k) == lower(wanted))) key = k;
  }
  if (key.empty()) {
    throw ConfigError(where + ": no dataset '" + wanted + "' in \"splits\" (has " +
                      join(available) + "); set data.open_set.setting to one of them");
  }
  if (!j["label_order"].contains(key)) {
    throw ConfigError(where + ": dataset '" + key + "' has splits but no \"label_order\"");
  }
  FileSplit out;
  try {
    out.universe = j["label_order"][key].get<std::vector<std::string>>();
    const auto lists = j["splits"][key].get<std::vector<std::vector<int>>>();
    const int index = s.split_index();
    if (index < 0 || index >= static_cast<int>(lists.size())) {
      throw ConfigError(where + ": data.open_set.split_index " + std::to_string(index) +
                        " is out of range for '" + key + "' (0.." +
                        std::to_string(static_cast<int>(lists.size()) - 1) + ")");
    }
    for (int i : lists[index]) {
      if (i < 0 || i >= static_cast<int>(out.universe.size())) {
        throw ConfigError(where + ": split " + std::to_string(index) + " of '" + key +
                          "' names class index " + std::to_string(i) + ", label_order has " +
                          std::to_string(out.universe.size()) + " classes");
      }
      out.known.push_back(out.universe[i]);
    }
    out.description =
        "splits file " + path.string() + ", " + key + " split " + std::to_string(index);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where + ": bad entry for '" + key + "' (" + e.what() + ")");
  }
  return out;
}

}  // namespace

double openness(int num_known, int num_unknown) {
  CHECK_GT(num_known, 0);
  CHECK_GE(num_unknown, 0);
  return 1.0 - std::sqrt(static_cast<double>(num_known) / (num_known + num_unknown));
}

std::vector<int> seeded_permutation(int n, uint64_t seed) {
  std::vector<int> p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(bounded(rng, static_cast<uint64_t>(i) + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

OpenSetClasses resolve_open_set_split(const config::OpenSetSplit& s,
                                      const std::vector<std::string>& class_names,
                                      const std::string& dataset_key,
                                      const std::filesystem::path& base_dir,
                                      const std::vector<int64_t>& clips_per_class) {
  const ClassIndex idx(class_names);
  const int ways = (s.known_classes_size() > 0) + (s.num_known() > 0) + s.has_splits_file();
  if (ways != 1) {
    throw ConfigError(
        "data.open_set: set exactly one of known_classes, num_known or splits_file (" +
        std::to_string(ways) + " set)");
  }

  std::set<int> known, unknown;
  std::set<int> default_universe;  // Classes that are unknown unless listed as known.
  for (int i = 0; i < idx.size(); ++i) default_universe.insert(i);
  OpenSetClasses out;

  if (s.known_classes_size() > 0) {
    known = indices_of(idx, s.known_classes(), "data.open_set.known_classes");
    out.description = "explicit known classes";
  } else if (s.num_known() > 0) {
    const int k = s.num_known(), u = s.num_unknown();
    if (u < 0) throw ConfigError("data.open_set.num_unknown must be >= 0");
    if (k + u > idx.size()) {
      throw ConfigError("data.open_set: " + std::to_string(k) + " known + " + std::to_string(u) +
                        " unknown classes requested, the dataset has " +
                        std::to_string(idx.size()) + " (" + join(class_names) + ")");
    }
    const auto perm = seeded_permutation(idx.size(), s.split_seed());
    const int end = u == 0 ? idx.size() : k + u;
    for (int i = 0; i < end; ++i) (i < k ? known : unknown).insert(perm[i]);
    default_universe = known;
    default_universe.insert(unknown.begin(), unknown.end());
    out.description = "seeded draw (seed " + std::to_string(s.split_seed()) + ")";
  } else {
    if (s.split_index() < 0) {
      throw ConfigError("data.open_set.split_index must be >= 0 when splits_file is set");
    }
    const FileSplit f = read_split_file(s, dataset_key, base_dir);
    const std::string field = "data.open_set (" + f.description + ")";
    for (const auto& n : f.known) {
      if (!known.insert(idx.at(n, field)).second) {
        throw ConfigError(field + ": class '" + n + "' is listed twice");
      }
    }
    default_universe.clear();
    for (const auto& n : f.universe) default_universe.insert(idx.at(n, field));
    out.description = f.description;
  }

  if (s.unknown_most_frequent() > 0) {
    const std::string field = "data.open_set.unknown_most_frequent";
    if (s.unknown_classes_size() > 0) {
      throw ConfigError(field + " and data.open_set.unknown_classes are exclusive");
    }
    if (s.known_classes_size() == 0) {
      throw ConfigError(field + " needs data.open_set.known_classes");
    }
    CHECK_EQ(clips_per_class.size(), class_names.size()) << "clip counts per class needed";
    // MAFW compound (spec §11): the unknown classes are compound categories, never the
    // MAFW-only single emotions that a compound-labelled pack also holds (contempt, ...).
    const bool compound_only = s.setting() == "mafw_compound";
    std::vector<int> candidates;
    for (int i = 0; i < idx.size(); ++i) {
      const bool compound = class_names[static_cast<size_t>(i)].find('_') != std::string::npos;
      if (!known.count(i) && clips_per_class[static_cast<size_t>(i)] > 0 &&
          (compound || !compound_only)) {
        candidates.push_back(i);
      }
    }
    const size_t n = static_cast<size_t>(s.unknown_most_frequent());
    if (candidates.size() < n) {
      throw ConfigError(field + " = " + std::to_string(n) + ", but only " +
                        std::to_string(candidates.size()) + (compound_only ? " compound" : "") +
                        " classes outside the known set have clips");
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
      const auto ca = clips_per_class[static_cast<size_t>(a)],
                 cb = clips_per_class[static_cast<size_t>(b)];
      return ca != cb ? ca > cb
                      : class_names[static_cast<size_t>(a)] < class_names[static_cast<size_t>(b)];
    });
    unknown.insert(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n));
    out.description += ", the " + std::to_string(n) + " most frequent other classes unknown";
  } else if (s.unknown_classes_size() > 0) {
    unknown = indices_of(idx, s.unknown_classes(), "data.open_set.unknown_classes");
    for (int i : unknown) {
      if (known.count(i)) {
        throw ConfigError("data.open_set: class '" + class_names[i] +
                          "' is both known and unknown");
      }
    }
  } else if (unknown.empty()) {
    for (int i : default_universe) {
      if (!known.count(i)) unknown.insert(i);
    }
  }
  if (known.size() < 2) {
    throw ConfigError("data.open_set: at least 2 known classes are needed (K = " +
                      std::to_string(known.size()) + ")");
  }
  if (unknown.empty()) {
    LOG(WARNING) << "open-set split has no unknown classes (" << out.description
                 << "): the evaluation is closed-set";
  }
  out.known = idx.names_of(known);
  out.unknown = idx.names_of(unknown);
  out.openness = openness(static_cast<int>(known.size()), static_cast<int>(unknown.size()));
  out.description += ": K=" + std::to_string(known.size()) + " U=" + std::to_string(unknown.size());
  return out;
}

}  // namespace hesp::data
