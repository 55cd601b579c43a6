#pragma once
// The methods of the paper's tables (spec §10) around one frozen CLIP:
//   clip_zeroshot  frozen CLIP, "a photo of a {class}." prompts, mean pooling; no training
//   clip_arpl      frozen CLIP video features + learnable ARPL reciprocal points (E-space)
//   hesp_b1        visual + textual + negative prompts, euclidean negative logits, no margin
//   hesp           everything (default)
// The model owns only the learnable parts; the CLIP is shared and frozen.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "config/experiment.pb.h"
#include "config/method_traits.h"
#include "losses/classification.h"
#include "model/padding_prompt.h"
#include "model/temporal_pooling.h"
#include "model/text_prompts.h"
#include "model/visual_prompt.h"

namespace hesp::model {

// What one forward pass gives the losses and the evaluation.
struct Outputs {
  torch::Tensor frame_features;  // per-frame CLIP embeddings [B, T, E], not normalised
  torch::Tensor video_features;  // F_V [B, E], not normalised
  torch::Tensor text_features;   // F_T [K, E], not normalised (undefined for clip_arpl)
  // The copy of delta that each clip's prompt adds [B, 3, s, s] (undefined without a visual
  // prompt): call retain_grad() on it before backward to read dL/d(delta of clip b); their
  // sum over b is delta's gradient (what `hesp step` writes as grad/delta_per_clip).
  torch::Tensor delta_per_clip;
  torch::Tensor known_logits;             // s [B, K] (undefined for clip_arpl)
  torch::Tensor negative_logits;          // l [B, K] (undefined without negative images/points)
  torch::Tensor negative_image_features;  // F_V^- [K, E] (undefined unless negative images)
  torch::Tensor combined_logits;          // what predicts: (s + l) / 2, or s, or l  [B, K]
  torch::Tensor combined_log_probs;       // log P_H [B, K] (combine = probs mixes probabilities)
};

class HespModelImpl : public torch::nn::Module {
 public:
  // The run's method (its traits) and the config sections the model reads: model
  // (temporal pooling, cut_text_at_eot), prompts, data (frames_per_clip, image_size) and
  // losses (combine).
  HespModelImpl(const config::MethodTraits& traits, const config::ModelConfig& model_config,
                const config::PromptConfig& prompts, const config::DataConfig& data,
                const config::LossConfig& loss_config, std::shared_ptr<clip::ClipModel> clip,
                const clip::Tokenizer& tokenizer, const std::vector<std::string>& class_names);

  // frames [B, T, 3, S, S] on [0, 1] pixels; centers [B, 2] int64 box centres (ignored
  // without a visual prompt).
  Outputs forward(const torch::Tensor& frames, const torch::Tensor& centers) const;

  // The learnable tensors by stable name (what checkpoints and gradient all-reduce see).
  // Empty exactly for the methods that do not train (config::method_traits: clip_zeroshot).
  std::vector<std::pair<std::string, torch::Tensor>> learnable() const;

  // The tensors that take the normalised-gradient step (spec §8); undefined when the
  // method has none. delta [3, s, s] on [0, 1] pixels (the padding prompt's [3, S, S]
  // border); N [K, 3, S, S] CLIP-normalised.
  torch::Tensor delta() const;
  torch::Tensor negative_images() const { return negative_images_; }

  // F_T for every known class [K, E]: the learnable prompts, or the fixed zero-shot ones.
  torch::Tensor known_text_features() const;

  // The learnable prompts' token ids [K, L] and EOT positions [K] (undefined without them).
  torch::Tensor prompt_token_ids() const {
    return text_prompts_.is_empty() ? torch::Tensor() : text_prompts_->token_ids();
  }
  torch::Tensor prompt_eot_index() const {
    return text_prompts_.is_empty() ? torch::Tensor() : text_prompts_->eot_index();
  }

  // Zero-shot text features of the fixed CAM template [K, E] (for Grad-CAM boxes).
  const torch::Tensor& cam_text_features() const { return cam_text_features_; }
  // F_T^- [K, E]: the fixed "This video is not {class}." features, or the learnable
  // negative prompts' (prompts.negative.text_learnable); undefined when disabled.
  torch::Tensor negative_text_features() const;
  const clip::ClipModel& clip() const { return *clip_; }
  // Where the model lives (the trainer moves it): inputs go there before forward.
  torch::Device device() const { return cam_text_features_.device(); }
  config::Method method() const { return traits_.method; }
  const config::MethodTraits& traits() const { return traits_; }
  // A box prompt (placed by the centres forward takes) or the padding prompt.
  bool uses_visual_prompt() const {
    return !visual_prompt_.is_empty() || !padding_prompt_.is_empty();
  }
  torch::Tensor radius() const { return radius_; }

 private:
  // Per-frame CLIP embeddings [B, T, 3, S, S] -> [B, T, E] (before temporal pooling).
  torch::Tensor encode_frames(const torch::Tensor& frames) const;

  config::MethodTraits traits_;
  bool cut_text_at_eot_ = false;     // model.cut_text_at_eot
  bool euclidean_negative_ = false;  // Negative image logits by euclidean distance.
  losses::Combine combine_ = losses::Combine::kLogits;  // losses.combine
  std::shared_ptr<clip::ClipModel> clip_;
  VisualPrompt visual_prompt_{nullptr};
  PaddingPrompt padding_prompt_{nullptr};       // prompts.visual.box = padding
  TextPrompts negative_text_prompts_{nullptr};  // prompts.negative.text_learnable
  TextPrompts text_prompts_{nullptr};
  TemporalPooling temporal_{nullptr};
  torch::Tensor fixed_text_features_;     // zero-shot prompts (clip_zeroshot, no text prompt)
  torch::Tensor cam_text_features_;       // "a photo of a {class}." for Grad-CAM
  torch::Tensor negative_text_features_;  // "This video is not {class}." (constant)
  torch::Tensor negative_images_;         // N_k [K, 3, S, S] learnable (hesp, hesp_b1)
  torch::Tensor reciprocal_points_;       // [K, E] learnable (clip_arpl)
  torch::Tensor radius_;                  // R, learnable scalar
};
TORCH_MODULE(HespModel);

}  // namespace hesp::model
