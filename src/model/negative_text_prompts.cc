#include "model/negative_text_prompts.h"

#include <glog/logging.h>

namespace hesp::model {

TextPrompts make_negative_text_prompts(const clip::ClipModel& clip,
                                       const clip::Tokenizer& tokenizer,
                                       const std::vector<std::string>& class_names,
                                       const std::string& templ, bool class_specific) {
  const auto at = templ.find("{}");
  CHECK(at != std::string::npos && templ.substr(at) == "{}.")
      << "negative template must end in {}. (config validation checks this)";
  const auto words = tokenizer.encode(templ.substr(0, at));
  CHECK(!words.empty()) << "negative template without words before {}";
  const int64_t M = static_cast<int64_t>(words.size());
  TextPrompts prompts(clip, tokenizer, class_names, M, class_specific, /*init_std=*/1.0);
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor(std::vector<int64_t>(words.begin(), words.end()), torch::kLong);
  const auto init = clip.token_embedding(ids.unsqueeze(0));  // [1, M, D]
  prompts->contexts.copy_(init.expand_as(prompts->contexts));
  return prompts;
}

}  // namespace hesp::model
