#include "config/method_traits.h"

#include <glog/logging.h>

#include <algorithm>

namespace hesp::config {
namespace {

const std::vector<MethodTraits>& table() {
  static const std::vector<MethodTraits> kTable = {
      // method, trains, hesp_prompts, reciprocal_points, euclidean_neg, margin_term,
      // msp_score, sweep_cost, paper_row, paper_name, baseline
      {hesp, true, true, false, false, true, false, 1.0, 3, "Baseline 2 + HESP", clip_arpl},
      {hesp_b1, true, true, false, true, false, false, 1.0, 2, "Baseline 1 + HESP", clip_zeroshot},
      {clip_arpl, true, false, true, false, true, false, 0.3, 1, "Baseline 2", std::nullopt},
      {clip_zeroshot, false, false, false, false, false, true, 0.0, 0, "Baseline 1", std::nullopt},
  };
  return kTable;
}

}  // namespace

const MethodTraits& method_traits(Method method) {
  for (const auto& t : table()) {
    if (t.method == method) return t;
  }
  LOG(FATAL) << "method_traits: unknown method " << static_cast<int>(method);
  return table()[0];
}

const MethodTraits* method_traits_by_name(const std::string& name) {
  Method method;
  if (!Method_Parse(name, &method)) return nullptr;
  return &method_traits(method);
}

std::vector<Method> methods_in_paper_order() {
  std::vector<const MethodTraits*> rows;
  for (const auto& t : table()) rows.push_back(&t);
  std::sort(rows.begin(), rows.end(), [](const MethodTraits* a, const MethodTraits* b) {
    return a->paper_row < b->paper_row;
  });
  std::vector<Method> out;
  for (const MethodTraits* t : rows) out.push_back(t->method);
  return out;
}

}  // namespace hesp::config
