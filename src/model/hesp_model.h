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
#include "model/temporal_pooling.h"
#include "model/text_prompts.h"
#include "model/visual_prompt.h"

namespace hesp::model {

// What one forward pass gives the losses and the evaluation.
struct Outputs {
  torch::Tensor video_features;           // F_V [B, E], not normalised
  torch::Tensor known_logits;             // s [B, K] (undefined for clip_arpl)
  torch::Tensor negative_logits;          // l [B, K] (undefined without negative images/points)
  torch::Tensor negative_image_features;  // F_V^- [K, E] (undefined unless negative images)
  torch::Tensor combined_logits;          // what predicts: (s + l) / 2, or s, or l  [B, K]
  torch::Tensor combined_log_probs;       // log P_H [B, K] (combine = probs mixes probabilities)
};

class HespModelImpl : public torch::nn::Module {
 public:
  HespModelImpl(const config::Experiment& exp, std::shared_ptr<clip::ClipModel> clip,
                const clip::Tokenizer& tokenizer, const std::vector<std::string>& class_names);

  // frames [B, T, 3, S, S] on [0, 1] pixels; centers [B, 2] int64 box centres (ignored
  // without a visual prompt).
  Outputs forward(const torch::Tensor& frames, const torch::Tensor& centers) const;

  // The learnable tensors by stable name (what checkpoints and gradient all-reduce see).
  // Empty exactly for the methods that do not train (config::method_traits: clip_zeroshot).
  std::vector<std::pair<std::string, torch::Tensor>> learnable() const;

  // Tensors that take the optional normalised-gradient step (delta and negative images).
  std::vector<torch::Tensor> pixel_space_parameters() const;

  // F_T for every known class [K, E]: the learnable prompts, or the fixed zero-shot ones.
  torch::Tensor known_text_features() const;

  // Zero-shot text features of the fixed CAM template [K, E] (for Grad-CAM boxes).
  const torch::Tensor& cam_text_features() const { return cam_text_features_; }
  const torch::Tensor& negative_text_features() const { return negative_text_features_; }
  const clip::ClipModel& clip() const { return *clip_; }
  // Where the model lives (the trainer moves it): inputs go there before forward.
  torch::Device device() const { return cam_text_features_.device(); }
  config::Method method() const { return method_; }
  bool uses_visual_prompt() const { return !visual_prompt_.is_empty(); }
  torch::Tensor radius() const { return radius_; }

 private:
  // Per-frame CLIP embeddings pooled over time: [B, T, 3, S, S] -> [B, E].
  torch::Tensor encode_video(const torch::Tensor& frames) const;

  config::Experiment exp_;
  config::Method method_;
  std::shared_ptr<clip::ClipModel> clip_;
  VisualPrompt visual_prompt_{nullptr};
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
