#pragma once
// Textual prompts (spec §4): per known class, M learnable context vectors standing in for
// tokens: [SOT] c_1 ... c_M [class name tokens] [.] [EOT] [padding]. The fixed tokens use
// CLIP's frozen token embedding; F_T(k) is pooled at the EOT position. Contexts are
// class-specific by default, or one set shared by all classes.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"

namespace hesp::model {

// The text a class name stands for in prompts ("anger_disgust" -> "anger disgust").
std::string prompt_class_name(const std::string& name);

// Token rows [K, context_length] of a fixed template ("a photo of a {}.") per class, and
// their CLIP text features [K, E] (pooled at EOT, not normalised).
torch::Tensor template_tokens(const clip::Tokenizer& tokenizer, const std::string& templ,
                              const std::vector<std::string>& classes, int64_t context_length);
torch::Tensor encode_templates(const clip::ClipModel& clip, const clip::Tokenizer& tokenizer,
                               const std::string& templ, const std::vector<std::string>& classes);

class TextPromptsImpl : public torch::nn::Module {
 public:
  TextPromptsImpl(const clip::ClipModel& clip, const clip::Tokenizer& tokenizer,
                  const std::vector<std::string>& class_names, int64_t num_contexts,
                  bool class_specific, double init_std);

  // F_T for every known class [K, E].
  torch::Tensor forward(const clip::ClipModel& clip, bool cut_at_eot) const;
  // The full prompt embeddings [K, L, D] (contexts spliced in) and EOT positions [K].
  torch::Tensor prompt_embeddings() const;
  const torch::Tensor& eot_index() const { return eot_index_; }
  // The prompt's token ids [K, L]: those of "X X ... X {name}." (X at the M context
  // positions, whose embeddings the contexts replace), zero padded.
  const torch::Tensor& token_ids() const { return token_ids_; }

  torch::Tensor contexts;  // [K or 1, M, D], learnable.

 private:
  int64_t num_classes_, num_contexts_;
  torch::Tensor token_embeddings_;  // [K, L, D] frozen embeddings of the fixed tokens
  torch::Tensor eot_index_;         // [K] int64
  torch::Tensor token_ids_;         // [K, L] int64
};
TORCH_MODULE(TextPrompts);

}  // namespace hesp::model
