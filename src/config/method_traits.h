#pragma once
// What each method of the paper's tables is made of (spec §10), in one table, so that
// the model, the losses, the evaluation, the validation, the sweep, `hesp step`, `hesp
// predict` and the report ask the same question the same way instead of each comparing
// method names.
//
//   method         trains  hesp_prompts  reciprocal_points  euclidean_neg  margin_term  msp
//   hesp           yes     yes           no                 config         yes          config
//   hesp_b1        yes     yes           no                 always         no           config
//   clip_arpl      yes     no            yes                no             yes          config
//   clip_zeroshot  no      no            no                 no             no           always
//
//   method         sweep cost  paper row  paper name          baseline
//   clip_zeroshot  0           1st        Baseline 1          -
//   clip_arpl      0.3         2nd        Baseline 2          -
//   hesp_b1        1           3rd        Baseline 1 + HESP   clip_zeroshot
//   hesp           1           4th        Baseline 2 + HESP   clip_arpl
#include <optional>
#include <string>
#include <vector>

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
  // Scored by the maximum softmax probability (MSP) whatever eval.score says: the method
  // is defined with MSP (clip_zeroshot, spec §10).
  bool msp_score;
  // A run's cost relative to a HESP run of the same epochs, for the sweep's longest-first
  // order: no prompts through the towers and no Grad-CAM cost less (cached features), no
  // training costs nothing (evaluation only).
  double sweep_cost;
  // The method's row in the paper's tables: 0 first (the report sorts by it).
  int paper_row;
  // The row's name in the paper's tables ("Baseline 1 + HESP").
  const char* paper_name;
  // The method it adds HESP to (the report pairs their runs); nullopt for the baselines.
  std::optional<Method> baseline;
};

// CHECK-fails on a value outside the enum (the config loader refuses those).
const MethodTraits& method_traits(Method method);

// The traits of the method named `name` (e.g. "hesp_b1", as in result.json and sweep
// folders); nullptr when no method has that name.
const MethodTraits* method_traits_by_name(const std::string& name);

// Every method, in the order of the paper's rows.
std::vector<Method> methods_in_paper_order();

}  // namespace hesp::config
