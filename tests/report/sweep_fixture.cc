#include "sweep_fixture.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "metrics/oscr.h"
#include "metrics/ranking.h"
#include "metrics/threshold.h"
#include "util/fs.h"

namespace hesp::report::testing {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

// MAFW's 11 single emotions and some compound ones: enough for every K:U the tests use
// (K + U <= 16, the paper's MAFW compound 7:9).
const std::vector<std::string> kEmotions = {
    "angry",       "disgust",       "fear",           "happy",      "neutral",      "sad",
    "surprise",    "contempt",      "anxiety",        "helpless",   "disappointed", "angry_disgust",
    "sad_anxiety", "fear_surprise", "happy_surprise", "sad_disgust"};

std::vector<std::string> datasets_of(const std::string& setting) {
  if (setting == "afew") return {"afew"};
  if (setting == "mafw" || setting == "mafw_compound") return {"mafw"};
  if (setting == "fusion") return {"afew", "mafw"};
  return {setting};
}

// How far known scores sit above unknown ones: better methods separate more, so the
// tables have a visible order (as in the paper).
double separation(const std::string& method) {
  if (method == "clip_zeroshot") return 0.4;
  if (method == "clip_arpl") return 0.8;
  if (method == "hesp_b1") return 1.2;
  if (method == "hesp") return 1.6;
  return 2.0;  // A variant.
}

json make_run(const FixtureRun& run, const SweepSpec& spec, std::mt19937& rng) {
  const auto dash = run.openness_dir.find('-');
  const int k = std::stoi(run.openness_dir.substr(0, dash));
  const int u = std::stoi(run.openness_dir.substr(dash + 1));
  std::vector<std::string> known(kEmotions.begin(), kEmotions.begin() + k);
  std::vector<std::string> unknown(kEmotions.begin() + k, kEmotions.begin() + k + u);
  const double sep = separation(run.method);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> cls(0, k - 1);

  std::vector<int64_t> kpred, klabel, upred;
  std::vector<double> kscore, uscore;
  std::vector<bool> kcorrect;
  json clips = json::array();
  for (int c = 0; c < k; ++c) {
    for (int i = 0; i < spec.clips_per_class; ++i) {
      const int64_t pred = unit(rng) < 0.5 + 0.1 * sep ? c : cls(rng);
      // Scores rounded to 2 decimals so that ties occur (as with real logits in fp16).
      const double score = std::round((sep + noise(rng)) * 100) / 100;
      kpred.push_back(pred), klabel.push_back(c), kscore.push_back(score);
      kcorrect.push_back(pred == c);
      clips.push_back(
          {{"clip_id", run.setting + "_k" + std::to_string(c) + "_" + std::to_string(i)},
           {"label", c},
           {"prediction", pred},
           {"score", score}});
    }
  }
  for (int i = 0; i < spec.unknown_clips; ++i) {
    const int64_t pred = cls(rng);
    const double score = std::round(noise(rng) * 100) / 100;
    upred.push_back(pred), uscore.push_back(score);
    clips.push_back({{"clip_id", run.setting + "_u" + std::to_string(i)},
                     {"label", -1},
                     {"prediction", pred},
                     {"score", score}});
  }
  std::vector<double> train;
  for (int i = 0; i < 40; ++i) train.push_back(sep + 0.3 + noise(rng));
  const double t = metrics::unknown_threshold(train);
  const auto tm = metrics::threshold_metrics(kpred, klabel, kscore, upred, uscore, k, t);
  int correct = 0;
  for (bool b : kcorrect) correct += b;
  json m;
  m["auroc"] = metrics::auroc(kscore, uscore);
  m["oscr"] = metrics::oscr(kscore, kcorrect, uscore);
  m["closed_set_accuracy"] = static_cast<double>(correct) / static_cast<double>(kcorrect.size());
  m["tnr_at_95tpr"] = metrics::tnr_at_tpr(kscore, uscore);
  m["threshold"] = t;
  m["open_set_accuracy"] = tm.open_set_accuracy;
  m["macro_f1"] = tm.macro_f1;
  m["confusion"] = tm.confusion;
  json j;
  j["method"] = run.method.substr(0, run.method.find('-'));  // "<method>-<variant>" dirs.
  j["config_hash"] = "fixture";
  j["known_classes"] = known;
  j["unknown_classes"] = unknown;
  j["openness"] = 1.0 - std::sqrt(static_cast<double>(k) / (k + u));
  j["split"] = "fixture split " + std::to_string(run.split);
  j["metrics"] = m;
  j["clips"] = clips;
  j["train_scores"] = train;
  if (spec.record_protocol) {
    j["protocol"] = {{"clip_architecture", spec.clip_architecture},
                     {"datasets", datasets_of(run.setting)},
                     {"train_split", "train"},
                     {"test_split", "test"}};
  }
  return j;
}

}  // namespace

stdfs::path result_path(const stdfs::path& dir, const FixtureRun& run) {
  return dir / run.setting / run.method / run.openness_dir / ("split" + std::to_string(run.split)) /
         "result.json";
}

std::vector<FixtureRun> write_sweep(const stdfs::path& dir, const SweepSpec& spec) {
  std::mt19937 rng(spec.seed);
  std::vector<FixtureRun> runs;
  for (const auto& setting : spec.settings) {
    for (const auto& method : spec.methods) {
      const auto own = spec.setting_openness.find(setting);
      for (const auto& o : own == spec.setting_openness.end() ? spec.openness_dirs : own->second) {
        for (int s = 0; s < spec.splits; ++s) {
          FixtureRun run{setting, method, o, s};
          const stdfs::path p = result_path(dir, run);
          stdfs::create_directories(p.parent_path());
          fs::atomic_write_file(p, make_run(run, spec, rng).dump(1));
          runs.push_back(run);
        }
      }
    }
  }
  return runs;
}

SweepSpec paper_sweep_spec() {
  SweepSpec spec;
  spec.settings = {"afew", "mafw", "fusion", "mafw_compound"};
  spec.methods = {"clip_zeroshot", "clip_arpl", "hesp_b1", "hesp"};
  spec.setting_openness = {{"afew", {"5-2", "4-3", "3-4", "2-5"}},
                           {"mafw", {"8-3", "6-5", "5-6", "3-8"}},
                           {"fusion", {"7-4"}},
                           {"mafw_compound", {"7-9"}}};
  spec.splits = 5;
  spec.clips_per_class = 4;
  spec.unknown_clips = 12;
  return spec;
}

void set_metrics(const stdfs::path& dir, const FixtureRun& run, double auroc, double oscr) {
  const auto path = result_path(dir, run);
  json j = json::parse(fs::read_file(path));
  j["metrics"]["auroc"] = auroc;
  j["metrics"]["oscr"] = oscr;
  fs::atomic_write_file(path, j.dump(1));
}

stdfs::path fresh_dir(const std::string& name) {
  const stdfs::path dir =
      stdfs::temp_directory_path() / ("hesp_report_" + name + "_" + std::to_string(::getpid()));
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir;
}

}  // namespace hesp::report::testing
