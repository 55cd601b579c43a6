#include "config/method_traits.h"

#include <glog/logging.h>

namespace hesp::config {

const MethodTraits& method_traits(Method method) {
  static const MethodTraits kTable[] = {
      // method, trains, hesp_prompts, reciprocal_points, euclidean_neg, margin_term
      {hesp, true, true, false, false, true},
      {hesp_b1, true, true, false, true, false},
      {clip_arpl, true, false, true, false, true},
      {clip_zeroshot, false, false, false, false, false},
  };
  for (const auto& t : kTable) {
    if (t.method == method) return t;
  }
  LOG(FATAL) << "method_traits: unknown method " << static_cast<int>(method);
  return kTable[0];
}

}  // namespace hesp::config
