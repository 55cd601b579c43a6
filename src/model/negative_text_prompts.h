#pragma once
// Learnable negative text prompts (the paper's Fig. 3a, `prompts.negative.text_learnable`):
// the fixed negative template "This video is not {}." becomes
//   [SOT] c_1 ... c_M [class name tokens] [.] [EOT]
// whose M contexts are the template's words before {} ("this video is not": M = 4),
// initialised to their CLIP token embeddings, so that at the start the learnable prompts
// give exactly the fixed prompts' features, then trained with the other prompts.
#include <string>
#include <vector>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "model/text_prompts.h"

namespace hesp::model {

// `templ` is words followed by "{}." (config validation checks this). One context set
// per class when class_specific, else one shared set. Throws UserError when a class name
// does not fit the text context.
TextPrompts make_negative_text_prompts(const clip::ClipModel& clip,
                                       const clip::Tokenizer& tokenizer,
                                       const std::vector<std::string>& class_names,
                                       const std::string& templ, bool class_specific);

}  // namespace hesp::model
