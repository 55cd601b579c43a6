#include "model/hesp_model.h"

#include <glog/logging.h>

#include "config/method_traits.h"
#include "losses/classification.h"
#include "losses/reciprocal_points.h"
#include "model/negative_text_prompts.h"
#include "model/normalization.h"

namespace hesp::model {

HespModelImpl::HespModelImpl(const config::MethodTraits& traits,
                             const config::ModelConfig& model_config, const config::PromptConfig& p,
                             const config::DataConfig& data, const config::LossConfig& loss_config,
                             std::shared_ptr<clip::ClipModel> clip,
                             const clip::Tokenizer& tokenizer,
                             const std::vector<std::string>& class_names)
    : traits_(traits),
      cut_text_at_eot_(model_config.cut_text_at_eot()),
      euclidean_negative_(traits.euclidean_negative_logits ||
                          p.negative().neg_logits() == config::NegativePromptConfig::euclidean),
      combine_(loss_config.combine() == config::LossConfig::probs ? losses::Combine::kProbs
                                                                  : losses::Combine::kLogits),
      clip_(std::move(clip)) {
  CHECK(clip_);
  const int64_t K = static_cast<int64_t>(class_names.size());
  const int64_t S = data.image_size();
  const int64_t E = clip_->config().embed_dim;
  CHECK_EQ(S, clip_->config().image_resolution)
      << "data.image_size must equal the CLIP input resolution (the trainer checks this)";
  torch::NoGradGuard no_grad_for_fixed_features;
  cam_text_features_ = encode_templates(*clip_, tokenizer, p.visual().cam_template(), class_names);
  const bool padding = p.visual().box() == config::VisualPromptConfig::padding;
  if (traits.hesp_prompts && p.visual().enabled() && padding) {
    padding_prompt_ =
        register_module("padding_prompt", PaddingPrompt(p.visual().size(), S, p.visual().fusion()));
  } else if (traits.hesp_prompts && p.visual().enabled()) {
    visual_prompt_ =
        register_module("visual_prompt", VisualPrompt(p.visual().size(), p.visual().fusion()));
  }
  if (traits.hesp_prompts && p.text().enabled()) {
    text_prompts_ = register_module(
        "text_prompts", TextPrompts(*clip_, tokenizer, class_names, p.text().num_contexts(),
                                    p.text().class_specific(), p.text().init_std()));
  } else {
    fixed_text_features_ =
        encode_templates(*clip_, tokenizer, p.text().zeroshot_template(), class_names);
  }
  if (traits.hesp_prompts && p.negative().text_enabled() && !p.negative().text_learnable()) {
    negative_text_features_ =
        encode_templates(*clip_, tokenizer, p.negative().text_template(), class_names);
  }
  if (traits.hesp_prompts && p.negative().image_enabled()) {
    negative_images_ = register_parameter(
        "negative_images", torch::randn({K, 3, S, S}) * p.negative().image_init_std());
  }
  if (traits.reciprocal_points) {
    // ARPL initialises its reciprocal points at 0.1 x N(0, 1).
    reciprocal_points_ = register_parameter("reciprocal_points", torch::randn({K, E}) * 0.1);
  }
  if (traits.trains) {
    radius_ = register_parameter("radius", torch::zeros({1}));
  }
  // Fixed features are buffers, so that model->to(dtype/device) moves them too.
  for (auto* t : {&cam_text_features_, &fixed_text_features_, &negative_text_features_}) {
    if (t->defined()) *t = t->detach();
  }
  register_buffer("cam_text_features", cam_text_features_);
  if (fixed_text_features_.defined()) register_buffer("fixed_text_features", fixed_text_features_);
  if (negative_text_features_.defined()) {
    register_buffer("negative_text_features", negative_text_features_);
  }
  if (traits.trains) {
    temporal_ = register_module(
        "temporal", TemporalPooling(model_config.temporal(), data.frames_per_clip(), E));
  } else {
    temporal_ = register_module(
        "temporal", TemporalPooling(config::ModelConfig::mean, data.frames_per_clip(), E));
  }
  // Last, so that the random draws above are those of runs without it.
  if (traits.hesp_prompts && p.negative().text_enabled() && p.negative().text_learnable()) {
    negative_text_prompts_ = register_module(
        "negative_text_prompts",
        make_negative_text_prompts(*clip_, tokenizer, class_names, p.negative().text_template(),
                                   p.negative().text_class_specific()));
  }
}

torch::Tensor HespModelImpl::negative_text_features() const {
  if (!negative_text_prompts_.is_empty()) {
    return negative_text_prompts_->forward(*clip_, cut_text_at_eot_);
  }
  return negative_text_features_;
}

torch::Tensor HespModelImpl::encode_frames(const torch::Tensor& frames) const {
  const int64_t B = frames.size(0), T = frames.size(1);
  const auto flat =
      clip_normalize(frames.reshape({B * T, frames.size(2), frames.size(3), frames.size(4)}));
  return clip_->encode_image(flat).view({B, T, -1});
}

Outputs HespModelImpl::forward(const torch::Tensor& frames, const torch::Tensor& centers) const {
  Outputs out;
  torch::Tensor prompted = frames;
  if (!visual_prompt_.is_empty()) {
    out.delta_per_clip = visual_prompt_->per_clip_copies(frames.size(0));
    prompted = visual_prompt_->forward(frames, centers, out.delta_per_clip);
  } else if (!padding_prompt_.is_empty()) {
    prompted = padding_prompt_->forward(frames);
  }
  out.frame_features = encode_frames(prompted);
  out.video_features = temporal_->forward(out.frame_features);
  const auto scale = clip_->logit_scale().exp();
  auto cosine_logits = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return scale * torch::matmul(a / a.norm(2, -1, true), (b / b.norm(2, -1, true)).t());
  };
  if (!traits_.reciprocal_points) {
    out.text_features = known_text_features();
    out.known_logits = cosine_logits(out.video_features, out.text_features);
  }
  torch::Tensor points;
  bool euclidean = false;
  if (negative_images_.defined()) {
    out.negative_image_features = clip_->encode_image(negative_images_);
    points = out.negative_image_features;
    euclidean = euclidean_negative_;
  } else if (reciprocal_points_.defined()) {
    points = reciprocal_points_;
  }
  if (points.defined()) {
    out.negative_logits = euclidean ? losses::euclidean_neg_logits(out.video_features, points)
                                    : losses::arpl_neg_logits(out.video_features, points);
  }
  // The prediction (spec §9): (s + l) / 2 when both branches exist.
  if (out.known_logits.defined() && out.negative_logits.defined()) {
    out.combined_logits = (out.known_logits + out.negative_logits) / 2;
    out.combined_log_probs =
        losses::combined_log_probs(out.known_logits, out.negative_logits, combine_);
  } else {
    out.combined_logits = out.known_logits.defined() ? out.known_logits : out.negative_logits;
    out.combined_log_probs = torch::log_softmax(out.combined_logits, 1);
  }
  return out;
}

torch::Tensor HespModelImpl::known_text_features() const {
  return text_prompts_.is_empty() ? fixed_text_features_
                                  : text_prompts_->forward(*clip_, cut_text_at_eot_);
}

std::vector<std::pair<std::string, torch::Tensor>> HespModelImpl::learnable() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : named_parameters(/*recurse=*/true)) {
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

torch::Tensor HespModelImpl::delta() const {
  if (!visual_prompt_.is_empty()) return visual_prompt_->delta;
  return padding_prompt_.is_empty() ? torch::Tensor() : padding_prompt_->delta;
}

}  // namespace hesp::model
