#pragma once
// The frozen CLIP model (both towers) with the reference semantics of OpenAI CLIP
// model.py, plus the entry points the HESP method needs: text from embeddings (learnable
// contexts), Grad-CAM split of the last vision block, visual tokens. Parameter names equal
// the OpenAI state-dict keys, so named_parameters() round-trips with the weight files.
#include <map>
#include <string>

#include <torch/torch.h>

#include "clip/model/clip_config.h"
#include "clip/model/transformer.h"

namespace hesp::clip {

using TensorMap = std::map<std::string, torch::Tensor>;

// A module holding one `weight` (the patchify conv, the token embedding table).
struct WeightParams : torch::nn::Module {
  explicit WeightParams(std::vector<int64_t> shape) {
    weight = register_parameter("weight", torch::empty(shape));
  }
  torch::Tensor weight;
};

struct VisionTransformer : torch::nn::Module {
  explicit VisionTransformer(const ClipConfig& c);

  std::shared_ptr<WeightParams> conv1;  // patchify conv [W, 3, p, p], no bias
  torch::Tensor class_embedding, positional_embedding, proj;
  std::shared_ptr<LayerNormParams> ln_pre, ln_post;
  std::shared_ptr<Transformer> transformer;
};

class ClipModel : public torch::nn::Module {
 public:
  static constexpr int64_t kEotToken = 49407;

  explicit ClipModel(const ClipConfig& config);

  // Infers the architecture, loads every tensor and freezes the model. Missing,
  // unexpected and wrongly shaped tensors are all reported in one UserError.
  static std::shared_ptr<ClipModel> from_state_dict(const TensorMap& state_dict);
  // load_weights(path) + from_state_dict; errors are prefixed with the path.
  static std::shared_ptr<ClipModel> load(const std::string& path);

  // Random weights with the reference initialisation (initialize_parameters), seeded.
  void init_random(uint64_t seed);
  void load_state(const TensorMap& state_dict);
  // requires_grad(false) on every weight: gradients still flow to inputs.
  void freeze();
  int64_t parameter_count() const;
  // Activation checkpointing of the image tower's blocks (train.activation_checkpointing):
  // when on, a forward whose pixels require grad keeps only each block's input and
  // recomputes the block during backward (checkpoint_block): the same losses and
  // gradients bit for bit in fp32, about one more image-tower forward of time, and the
  // memory of one block's activations instead of all of them. The text tower is short
  // (cut at EOT) and stays as it is.
  void set_activation_checkpointing(bool on) { visual->transformer->checkpoint_blocks = on; }
  bool activation_checkpointing() const { return visual->transformer->checkpoint_blocks; }
  const ClipConfig& config() const { return config_; }

  // ---- image tower; x [N, 3, R, R] CLIP-normalised ----
  torch::Tensor encode_image(const torch::Tensor& x) const;  // [N, E]
  // Tokens entering the last block [N, 1+g*g, W] and the rest of the tower from there,
  // so Grad-CAM can differentiate the logit w.r.t. those tokens.
  torch::Tensor visual_tokens_before_last_block(const torch::Tensor& x) const;
  torch::Tensor finish_image_from_last_block(const torch::Tensor& tokens) const;  // [N, E]
  torch::Tensor visual_tokens(const torch::Tensor& x) const;               // last block out [N,T,W]
  torch::Tensor project_visual_tokens(const torch::Tensor& tokens) const;  // ln_post @ proj
  torch::Tensor visual_tokens_proj(const torch::Tensor& x) const;          // [N, T, E]

  // ---- text tower; tokens [M, L<=context] int64 ----
  torch::Tensor token_embedding(const torch::Tensor& tokens) const;  // [M, L, D]
  // Pools at the first EOT (argmax of the ids). cut_at_eot runs only the first
  // max(eot)+1 positions: exact, because the mask is causal.
  torch::Tensor encode_text(const torch::Tensor& tokens, bool cut_at_eot = true) const;
  // emb [M, L, D] (token embeddings or learnable contexts), eot_index [M] int64.
  torch::Tensor encode_text_embeddings(const torch::Tensor& emb, const torch::Tensor& eot_index,
                                       bool cut_at_eot = true) const;
  // ln_final(transformer(...)) at every position [M, L, D].
  torch::Tensor text_hidden(const torch::Tensor& tokens) const;

  // exp(logit_scale) * cosine similarities [N_images, M_texts].
  torch::Tensor logits_per_image(const torch::Tensor& image_features,
                                 const torch::Tensor& text_features) const;
  // The stored (log) value; callers exponentiate.
  torch::Tensor logit_scale() const { return logit_scale_; }

  std::shared_ptr<VisionTransformer> visual;
  std::shared_ptr<Transformer> transformer;
  std::shared_ptr<WeightParams> token_embedding_;  // "token_embedding.weight"
  torch::Tensor positional_embedding, text_projection;
  std::shared_ptr<LayerNormParams> ln_final;

 private:
  torch::Tensor embed_image(const torch::Tensor& x) const;  // ln_pre(tokens) [N, T, W]
  torch::Tensor run_text(const torch::Tensor& emb) const;   // + pos, causal blocks
  void check_tokens(const torch::Tensor& tokens) const;

  ClipConfig config_;
  torch::Tensor logit_scale_;
};

// Names the reference drops from released state dicts before loading (not weights).
bool is_ignored_entry(const std::string& name);

}  // namespace hesp::clip
