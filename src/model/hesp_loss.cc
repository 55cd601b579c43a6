#include "model/hesp_loss.h"

#include "config/method_traits.h"
#include "losses/neg_clip.h"
#include "losses/reciprocal_points.h"
#include "losses/supcon.h"

#include <functional>

namespace hesp::model {

LossBreakdown hesp_loss(const config::Experiment& exp, const HespModelImpl& model,
                        const Outputs& out, const torch::Tensor& labels, comm::Communicator& comm) {
  const auto& L = exp.losses();
  const auto method = exp.method();
  LossBreakdown b;
  b.total = torch::zeros({}, out.video_features.options());
  auto add = [&](const std::string& name, const config::LossTerm& term, double extra_weight,
                 const std::function<torch::Tensor()>& compute) {
    if (!term.enabled()) return;
    const double w = term.weight() * extra_weight;
    if (w == 0) return;
    const auto value = compute();
    b.total = b.total + w * value;
    b.terms[name] = w * value.item<double>();
  };
  const config::MethodTraits& traits = config::method_traits(method);
  if (traits.hesp_prompts) {
    add("known_ce", L.known_ce(), 1.0,
        [&] { return torch::nn::functional::cross_entropy(out.known_logits, labels); });
    add("supcon", L.supcon(), 1.0, [&] {
      const auto z = out.video_features / out.video_features.norm(2, -1, true);
      return losses::supcon(z, labels, L.supcon_temperature(), comm);
    });
  }
  if (out.negative_logits.defined()) {
    const double ta = exp.prompts().negative().temperature();
    add("negative_ce", L.negative_ce(), 1.0,
        [&] { return torch::nn::functional::cross_entropy(out.negative_logits / ta, labels); });
    // hesp_b1 drops the ARPL margin (spec §10).
    if (traits.margin_term) {
      const auto points = out.negative_image_features.defined()
                              ? out.negative_image_features
                              : model.named_parameters()["reciprocal_points"];
      add("margin", L.margin(), L.margin_weight(),
          [&] { return losses::margin_loss(out.video_features, points, labels, model.radius()); });
    }
  }
  if (traits.hesp_prompts && out.negative_image_features.defined() &&
      model.negative_text_features().defined()) {
    add("neg_clip", L.neg_clip(), 1.0, [&] {
      return losses::neg_clip_loss(out.negative_image_features, model.negative_text_features(),
                                   model.clip().logit_scale().exp().item<double>(),
                                   L.neg_clip_symmetric());
    });
  }
  if (traits.hesp_prompts && out.known_logits.defined() && out.negative_logits.defined()) {
    add("hybrid", L.hybrid(), 1.0,
        [&] { return torch::nn::functional::nll_loss(out.combined_log_probs, labels); });
  }
  return b;
}

}  // namespace hesp::model
