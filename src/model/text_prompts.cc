#include "model/text_prompts.h"

#include <glog/logging.h>

#include <algorithm>

#include "util/errors.h"

namespace hesp::model {

std::string prompt_class_name(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

torch::Tensor template_tokens(const clip::Tokenizer& tokenizer, const std::string& templ,
                              const std::vector<std::string>& classes, int64_t context_length) {
  const auto at = templ.find("{}");
  CHECK(at != std::string::npos) << "template without {} (config validation checks this)";
  std::vector<std::string> texts;
  for (const auto& c : classes) {
    texts.push_back(templ.substr(0, at) + prompt_class_name(c) + templ.substr(at + 2));
  }
  return tokenizer.tokenize(texts, context_length, /*truncate=*/true);
}

torch::Tensor encode_templates(const clip::ClipModel& clip, const clip::Tokenizer& tokenizer,
                               const std::string& templ, const std::vector<std::string>& classes) {
  torch::NoGradGuard no_grad;
  return clip.encode_text(template_tokens(tokenizer, templ, classes, clip.config().context_length),
                          /*cut_at_eot=*/true);
}

TextPromptsImpl::TextPromptsImpl(const clip::ClipModel& clip, const clip::Tokenizer& tokenizer,
                                 const std::vector<std::string>& class_names, int64_t num_contexts,
                                 bool class_specific, double init_std)
    : num_classes_(static_cast<int64_t>(class_names.size())), num_contexts_(num_contexts) {
  const int64_t L = clip.config().context_length;
  const int64_t D = clip.config().transformer_width;
  auto ids = torch::zeros({num_classes_, L}, torch::kLong);
  const auto x = tokenizer.encode("X");
  CHECK_EQ(x.size(), 1u) << "the placeholder X is one token";
  const int64_t placeholder = x[0];
  eot_index_ = torch::zeros({num_classes_}, torch::kLong);
  for (int64_t k = 0; k < num_classes_; ++k) {
    // The ids of "X X ... X name." (the reference's prompt text): the M "X" placeholders'
    // embeddings are replaced by the contexts, the rest are the class name, "." and EOT.
    std::vector<int64_t> row{clip::Tokenizer::kSotToken};
    row.insert(row.end(), static_cast<size_t>(num_contexts), placeholder);
    const auto name =
        tokenizer.encode(prompt_class_name(class_names[static_cast<size_t>(k)]) + ".");
    row.insert(row.end(), name.begin(), name.end());
    row.push_back(clip::Tokenizer::kEotToken);
    if (static_cast<int64_t>(row.size()) > L) {
      throw UserError("class name '" + class_names[static_cast<size_t>(k)] +
                      "' does not fit the text context with " + std::to_string(num_contexts) +
                      " prompt contexts (" + std::to_string(row.size()) + " > " +
                      std::to_string(L) + " tokens)");
    }
    for (size_t i = 0; i < row.size(); ++i) ids[k][static_cast<int64_t>(i)] = row[i];
    eot_index_[k] = static_cast<int64_t>(row.size()) - 1;
  }
  {
    torch::NoGradGuard no_grad;
    token_embeddings_ = clip.token_embedding(ids).detach();
  }
  token_ids_ = ids;
  register_buffer("token_embeddings", token_embeddings_);
  const int64_t sets = class_specific ? num_classes_ : 1;
  contexts = register_parameter("contexts", torch::randn({sets, num_contexts, D}) * init_std);
}

torch::Tensor TextPromptsImpl::prompt_embeddings() const {
  const auto ctx = contexts.size(0) == num_classes_
                       ? contexts
                       : contexts.expand({num_classes_, num_contexts_, contexts.size(2)});
  using torch::indexing::Slice;
  return torch::cat(
      {token_embeddings_.index({Slice(), Slice(0, 1)}), ctx,
       token_embeddings_.index({Slice(), Slice(1 + num_contexts_, torch::indexing::None)})},
      1);
}

torch::Tensor TextPromptsImpl::forward(const clip::ClipModel& clip, bool cut_at_eot) const {
  return clip.encode_text_embeddings(prompt_embeddings(), eot_index_, cut_at_eot);
}

}  // namespace hesp::model
