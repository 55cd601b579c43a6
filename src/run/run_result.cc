#include "run/run_result.h"

#include <string>
#include <utility>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::run {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

// The members of one JSON object, read with messages "<where>: missing field 'k'" and
// "<where>: field 'k' has the wrong type". `strict`: the file's version requires every
// member that is not optional (version 2 on); otherwise (version 1) a member outside the
// set every version requires keeps its default when absent.
class Fields {
 public:
  Fields(const json& j, std::string where, bool strict)
      : j_(j), where_(std::move(where)), strict_(strict) {}

  // Required in every version.
  template <typename T>
  T required(const char* key) const {
    if (!j_.contains(key)) throw UserError(where_ + ": missing field '" + key + "'");
    return get<T>(key);
  }

  // Required from version 2 on; in version 1, `*out` keeps its value when absent.
  template <typename T>
  void since_v2(const char* key, T* out) const {
    if (strict_) {
      *out = required<T>(key);
    } else {
      optional(key, out);
    }
  }

  // Never required; `*out` keeps its value when absent.
  template <typename T>
  void optional(const char* key, T* out) const {
    if (j_.contains(key)) *out = get<T>(key);
  }
  template <typename T>
  void optional(const char* key, std::optional<T>* out) const {
    if (j_.contains(key)) *out = get<T>(key);
  }

  bool has(const char* key) const { return j_.contains(key); }

  // The member `key`, which must be a JSON object (an array); absent -> missing field.
  const json& object(const char* key) const {
    if (!j_.contains(key)) throw UserError(where_ + ": missing field '" + key + "'");
    const json& v = j_.at(key);
    if (!v.is_object()) throw UserError(where_ + ": '" + key + "' is not an object");
    return v;
  }
  const json& array(const char* key) const {
    if (!j_.contains(key)) throw UserError(where_ + ": missing field '" + key + "'");
    const json& v = j_.at(key);
    if (!v.is_array()) throw UserError(where_ + ": '" + key + "' is not an array");
    return v;
  }

 private:
  template <typename T>
  T get(const char* key) const {
    try {
      return j_.at(key).get<T>();
    } catch (const json::exception&) {
      throw UserError(where_ + ": field '" + key + "' has the wrong type");
    }
  }

  const json& j_;
  std::string where_;
  bool strict_;
};

// 1 for a file without "schema_version"; refuses one this build does not read.
int schema_version_of(const json& j, const std::string& where) {
  if (!j.contains("schema_version")) return 1;
  const json& v = j.at("schema_version");
  if (!v.is_number_integer()) {
    throw RunResultVersionError(where + ": result.json schema version " + v.dump() +
                                " is not an integer version");
  }
  const auto version = v.get<int64_t>();
  if (version > kRunResultSchemaVersion) {
    throw RunResultVersionError(where + ": result.json schema version " + std::to_string(version) +
                                " is newer than this hesp reads (at most " +
                                std::to_string(kRunResultSchemaVersion) + "); update hesp");
  }
  if (version < 1) {
    throw RunResultVersionError(where + ": result.json schema version " + std::to_string(version) +
                                " is not a version hesp wrote (1 to " +
                                std::to_string(kRunResultSchemaVersion) + ")");
  }
  return static_cast<int>(version);
}

json to_json(const RunSelection& s) {
  json j = {{"by", s.by}, {"epoch", s.epoch}};
  if (s.validation_closed_set_accuracy) {
    j["validation_closed_set_accuracy"] = *s.validation_closed_set_accuracy;
  }
  if (s.validation_clips) j["validation_clips"] = *s.validation_clips;
  if (s.validation_fraction) j["validation_fraction"] = *s.validation_fraction;
  return j;
}

RunMetrics metrics_from_json(const Fields& f) {
  RunMetrics m;
  f.since_v2("score", &m.score);
  f.since_v2("num_known_classes", &m.num_known_classes);
  f.since_v2("n_known", &m.n_known);
  f.since_v2("n_unknown", &m.n_unknown);
  m.auroc = f.required<double>("auroc");
  m.oscr = f.required<double>("oscr");
  m.closed_set_accuracy = f.required<double>("closed_set_accuracy");
  f.since_v2("tnr_at_95tpr", &m.tnr_at_95tpr);
  // The threshold metrics come together, with the threshold.
  if (f.has("threshold")) {
    ThresholdResult t;
    t.threshold = f.required<double>("threshold");
    f.since_v2("open_set_accuracy", &t.open_set_accuracy);
    f.since_v2("macro_f1", &t.macro_f1);
    f.since_v2("confusion", &t.confusion);
    m.at_threshold = std::move(t);
  }
  return m;
}

RunSelection selection_from_json(const Fields& f) {
  RunSelection s;
  s.by = f.required<std::string>("by");
  s.epoch = f.required<int64_t>("epoch");
  f.optional("validation_closed_set_accuracy", &s.validation_closed_set_accuracy);
  f.optional("validation_clips", &s.validation_clips);
  f.optional("validation_fraction", &s.validation_fraction);
  return s;
}

RunProtocol protocol_from_json(const Fields& f) {
  RunProtocol p;
  p.clip_architecture = f.required<std::string>("clip_architecture");
  p.datasets = f.required<std::vector<std::string>>("datasets");
  f.since_v2("train_split", &p.train_split);
  f.since_v2("test_split", &p.test_split);
  return p;
}

}  // namespace

json to_json(const RunMetrics& m) {
  json j = {{"score", m.score},
            {"num_known_classes", m.num_known_classes},
            {"n_known", m.n_known},
            {"n_unknown", m.n_unknown},
            {"auroc", m.auroc},
            {"oscr", m.oscr},
            {"closed_set_accuracy", m.closed_set_accuracy},
            {"tnr_at_95tpr", m.tnr_at_95tpr}};
  if (m.at_threshold) {
    const ThresholdResult& t = *m.at_threshold;
    j["threshold"] = t.threshold;
    j["open_set_accuracy"] = t.open_set_accuracy;
    j["macro_f1"] = t.macro_f1;
    j["confusion"] = t.confusion;
  }
  return j;
}

json to_json(const RunResult& r) {
  json j;
  j["schema_version"] = kRunResultSchemaVersion;
  j["name"] = r.name;
  j["method"] = r.method;
  j["config_hash"] = r.config_hash;
  j["config_identity"] = r.config_identity;
  j["manifest_fingerprint"] = r.manifest_fingerprint;
  j["clip_weights"] = r.clip_weights;
  j["clip_weights_sha256"] = r.clip_weights_sha256;
  j["epochs"] = r.epochs;
  j["ranks"] = r.ranks;
  j["known_classes"] = r.known_classes;
  j["unknown_classes"] = r.unknown_classes;
  j["openness"] = r.openness;
  j["split"] = r.split;
  j["metrics"] = to_json(r.metrics);
  if (r.selection) j["selection"] = to_json(*r.selection);
  if (r.protocol) {
    j["protocol"] = {{"clip_architecture", r.protocol->clip_architecture},
                     {"datasets", r.protocol->datasets},
                     {"train_split", r.protocol->train_split},
                     {"test_split", r.protocol->test_split}};
  }
  json clips = json::array();
  for (const RunClip& c : r.clips) {
    clips.push_back({{"clip_id", c.clip_id},
                     {"label", c.label},
                     {"prediction", c.prediction},
                     {"score", c.score}});
  }
  j["clips"] = std::move(clips);
  j["train_scores"] = r.train_scores;
  return j;
}

RunResult run_result_from_json(const json& j, const stdfs::path& source_for_messages) {
  const std::string where = source_for_messages.string();
  if (!j.is_object()) throw UserError(where + ": not a JSON object");
  RunResult r;
  r.schema_version = schema_version_of(j, where);
  const bool strict = r.schema_version >= 2;
  const Fields f(j, where, strict);
  f.since_v2("name", &r.name);
  r.method = f.required<std::string>("method");
  f.since_v2("config_hash", &r.config_hash);
  f.since_v2("config_identity", &r.config_identity);
  f.since_v2("manifest_fingerprint", &r.manifest_fingerprint);
  f.since_v2("clip_weights", &r.clip_weights);
  f.since_v2("clip_weights_sha256", &r.clip_weights_sha256);
  f.since_v2("epochs", &r.epochs);
  f.since_v2("ranks", &r.ranks);
  r.openness = f.required<double>("openness");
  r.known_classes = f.required<std::vector<std::string>>("known_classes");
  r.unknown_classes = f.required<std::vector<std::string>>("unknown_classes");
  f.since_v2("split", &r.split);
  r.metrics = metrics_from_json(Fields(f.object("metrics"), where + " metrics", strict));
  if (f.has("selection")) {
    r.selection = selection_from_json(Fields(f.object("selection"), where + " selection", strict));
  }
  if (f.has("protocol")) {
    r.protocol = protocol_from_json(Fields(f.object("protocol"), where + " protocol", strict));
  }
  const json& clips = f.array("clips");
  for (size_t i = 0; i < clips.size(); ++i) {
    const std::string at = where + " clips[" + std::to_string(i) + "]";
    if (!clips[i].is_object()) throw UserError(at + ": not a JSON object");
    const Fields c(clips[i], at, strict);
    RunClip clip;
    clip.clip_id = c.required<std::string>("clip_id");
    clip.label = c.required<int64_t>("label");
    clip.prediction = c.required<int64_t>("prediction");
    clip.score = c.required<double>("score");
    r.clips.push_back(std::move(clip));
  }
  f.since_v2("train_scores", &r.train_scores);
  return r;
}

RunResult read_run_result(const stdfs::path& file) {
  json j;
  try {
    j = json::parse(fs::read_file(file));
  } catch (const json::parse_error& e) {
    throw UserError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  return run_result_from_json(j, file);
}

void write_run_result(const stdfs::path& file, const RunResult& r) {
  fs::atomic_write_file(file, to_json(r).dump(1));
}

}  // namespace hesp::run
