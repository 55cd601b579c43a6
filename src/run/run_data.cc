#include "run/run_data.h"

#include <glog/logging.h>

#include <set>

#include "data/format/manifest_io.h"
#include "data/loader/validation_holdout.h"
#include "util/errors.h"
#include "util/strings.h"

namespace hesp::run {
namespace {

data::DatasetOptions base_options(const config::Experiment& exp) {
  data::DatasetOptions o;
  for (const auto& m : exp.data().manifests()) o.manifests.emplace_back(m);
  for (const auto& m : exp.data().class_map()) o.class_map.emplace_back(m.from(), m.to());
  return o;
}

// data.train_split / data.test_split name one split, or several separated by commas: a
// fusion of datasets packed with their own split names ("Train_AFEW,set_1/train").
std::vector<std::string> split_names(const std::string& value, const std::string& field) {
  const auto names = strings::split(value, ',');
  for (const auto& name : names) {
    if (name.empty()) throw ConfigError(field + ": empty split name in '" + value + "'");
  }
  return names;
}

}  // namespace

RunData open_run_data(const config::Experiment& exp, Preconditions preconditions) {
  if (exp.data().manifests_size() == 0) {
    throw ConfigError("data.manifests is empty: give the packed dataset(s) to train on");
  }
  RunData run;
  run.identity = data_identity(exp);
  run.manifest_fingerprint = run.identity.fingerprint;
  for (const auto& m : exp.data().manifests()) {
    run.dataset_formats.push_back(data::read_manifest(manifest_file(m)).source_format());
  }

  // Every class present in the manifests (canonical names, label order): open the whole
  // data once without checksums just to read the class list.
  auto probe_options = base_options(exp);
  probe_options.verify_checksums = false;
  const data::Dataset probe(probe_options);
  const std::vector<std::string> present = probe.known_classes();
  const auto& split = exp.data().open_set();
  std::vector<int64_t> clips_per_class(present.size(), 0);
  for (const auto& c : probe.clips()) {
    if (c.label >= 0) ++clips_per_class[static_cast<size_t>(c.label)];
  }
  run.classes = data::resolve_open_set_split(split, present, "", {}, clips_per_class);
  LOG(INFO) << "open-set split: " << run.classes.description << " (K=" << run.classes.known.size()
            << ", U=" << run.classes.unknown.size() << ", openness " << run.classes.openness << ")";

  auto train_options = base_options(exp);
  train_options.splits = split_names(exp.data().train_split(), "data.train_split");
  train_options.classes = run.classes.known;
  train_options.known_classes = run.classes.known;
  train_options.unknown = data::UnknownClasses::kExclude;
  run.train = std::make_unique<data::Dataset>(train_options);

  auto test_options = base_options(exp);
  test_options.splits = split_names(exp.data().test_split(), "data.test_split");
  test_options.classes = run.classes.known;
  test_options.classes.insert(test_options.classes.end(), run.classes.unknown.begin(),
                              run.classes.unknown.end());
  test_options.known_classes = run.classes.known;
  test_options.unknown = data::UnknownClasses::kMinusOne;
  test_options.verify_checksums = false;  // The training set's open verified every shard.
  run.test = std::make_unique<data::Dataset>(test_options);

  // --- preconditions, before anything trains ---
  auto& counts = run.counts;
  counts.setting = split.setting();
  counts.train_split = exp.data().train_split();
  counts.test_split = exp.data().test_split();
  counts.train_known = data::count_clips(*run.train, run.classes.known);
  counts.test_known = data::count_clips(*run.test, run.classes.known);
  counts.test_unknown = data::count_clips(*run.test, run.classes.unknown);
  counts.validation_fraction = exp.data().validation_fraction();
  if (preconditions == Preconditions::kEnforce) data::check_preconditions(counts);

  // --- the validation hold-out (spec §9) ---
  if (exp.data().validation_fraction() > 0) {
    const auto held =
        data::split_validation(*run.train, exp.data().validation_fraction(), exp.train().seed());
    const auto all = std::move(run.train);
    run.train = all->subset(held.train);
    run.validation = all->subset(held.validation);
    LOG(INFO) << "validation hold-out: " << run.validation->size() << " of " << all->size()
              << " training clips (data.validation_fraction " << exp.data().validation_fraction()
              << ", seed " << exp.train().seed() << ")";
  }
  LOG(INFO) << "data: " << run.train->size() << " training clips, "
            << (run.validation ? run.validation->size() : 0) << " validation clips, "
            << run.test->size() << " test clips";
  return run;
}

}  // namespace hesp::run
