#pragma once
// What each method of the paper's tables is made of (spec §10), in one table, so that
// the model, the losses, the validation and the sweep ask the same question the same way
// instead of each comparing method names.
//
//   method         trains  hesp_prompts  reciprocal_points  euclidean_neg  margin_term
//   hesp           yes     yes           no                 config         yes
//   hesp_b1        yes     yes           no                 always         no
//   clip_arpl      yes     no            yes                no             yes
//   clip_zeroshot  no      no            no                 no             no
#include "config/experiment.pb.h"

namespace hesp::config {

struct MethodTraits {
  Method method;
  // Has learnable tensors and runs the epoch loop (clip_zeroshot only evaluates).
  bool trains;
  // HESP's visual, textual and negative prompts with their loss terms (known CE, SupCon,
  // neg-CLIP, hybrid) where the config enables them.
  bool hesp_prompts;
  // ARPL's learnable reciprocal points in CLIP's embedding space, and no known logits.
  bool reciprocal_points;
  // Negative logits by euclidean distance whatever prompts.negative.neg_logits says.
  bool euclidean_negative_logits;
  // The ARPL margin loss on the negative branch.
  bool margin_term;
};

// CHECK-fails on a value outside the enum (the config loader refuses those).
const MethodTraits& method_traits(Method method);

}  // namespace hesp::config
