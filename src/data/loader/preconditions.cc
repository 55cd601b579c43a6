#include "data/loader/preconditions.h"

#include <map>
#include <sstream>

#include "data/loader/validation_holdout.h"

namespace hesp::data {
namespace {

std::string list(const std::vector<ClassCount>& counts) {
  std::string s;
  for (const auto& c : counts) {
    s += (s.empty() ? "" : ", ") + c.name + " " + std::to_string(c.clips);
  }
  return s;
}

std::string fraction_text(double f) {
  std::ostringstream s;
  s << f;
  return s.str();
}

}  // namespace

std::vector<ClassCount> count_clips(const Dataset& dataset,
                                    const std::vector<std::string>& classes) {
  std::map<std::string, int64_t> n;
  for (const auto& c : dataset.clips()) ++n[c.class_name];
  std::vector<ClassCount> out;
  for (const auto& name : classes) out.push_back({name, n.count(name) ? n.at(name) : 0});
  return out;
}

std::vector<std::string> precondition_problems(const SelectionCounts& c) {
  std::vector<std::string> problems;
  const std::string train = "training split \"" + c.train_split + "\"";
  const std::string test = "test split \"" + c.test_split + "\"";
  const std::string fraction = "data.validation_fraction " + fraction_text(c.validation_fraction);
  for (const auto& k : c.train_known) {
    const int64_t held =
        c.validation_fraction > 0 ? holdout_count(k.clips, c.validation_fraction) : 0;
    if (k.clips == 0) {
      problems.push_back(train + " has no clip of known class " + k.name +
                         " (known classes: " + list(c.train_known) + ")");
    } else if (held == k.clips) {
      problems.push_back("the validation hold-out (" + fraction + ") takes all " +
                         std::to_string(k.clips) + " clip(s) of known class " + k.name + " from " +
                         train + ", leaving none to train on");
    } else if (c.validation_fraction > 0 && held == 0) {
      problems.push_back("the validation hold-out (" + fraction + ") gets no clip of known class " +
                         k.name + " (" + std::to_string(k.clips) + " clip(s) in " + train +
                         "; raise the fraction)");
    }
  }
  for (const auto& k : c.test_known) {
    if (k.clips == 0) {
      problems.push_back(test + " has no clip of known class " + k.name +
                         " (known classes: " + list(c.test_known) + ")");
    }
  }
  int64_t unknown = 0;
  for (const auto& u : c.test_unknown) unknown += u.clips;
  if (unknown == 0) {
    problems.push_back(
        test + " has no clip of any unknown class (" +
        (c.test_unknown.empty() ? std::string("no unknown class") : list(c.test_unknown)) +
        "; known classes: " + list(c.test_known) + "): AUROC and OSCR need unknown test clips");
  }
  return problems;
}

std::string precondition_failure(const SelectionCounts& c) {
  const auto problems = precondition_problems(c);
  if (problems.empty()) return "";
  std::string s = "precondition failed before any training, setting " + c.setting + ": ";
  for (size_t i = 0; i < problems.size(); ++i) s += (i ? "; " : "") + problems[i];
  return s;
}

void check_preconditions(const SelectionCounts& c) {
  const std::string failure = precondition_failure(c);
  if (!failure.empty()) throw PreconditionError(failure);
}

}  // namespace hesp::data
