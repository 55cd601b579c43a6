#include "optim/sgd.h"

#include <glog/logging.h>

#include "util/errors.h"

namespace hesp::optim {

Sgd::Sgd(std::vector<std::pair<std::string, torch::Tensor>> params, double momentum,
         double weight_decay)
    : params_(std::move(params)),
      buffers_(params_.size()),
      momentum_(momentum),
      weight_decay_(weight_decay) {}

void Sgd::zero_grad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

void Sgd::step() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i].second;
    if (!p.grad().defined()) continue;
    auto d = p.grad();
    if (weight_decay_ != 0) d = d.add(p, weight_decay_);
    if (momentum_ != 0) {
      if (!buffers_[i].defined()) {
        buffers_[i] = d.clone();
      } else {
        buffers_[i].mul_(momentum_).add_(d);
      }
      d = buffers_[i];
    }
    p.add_(d, -lr_);
  }
}

std::map<std::string, torch::Tensor> Sgd::state() const {
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (buffers_[i].defined()) out[params_[i].first] = buffers_[i];
  }
  return out;
}

void Sgd::load_state(const std::map<std::string, torch::Tensor>& buffers) {
  for (size_t i = 0; i < params_.size(); ++i) {
    auto it = buffers.find(params_[i].first);
    if (it == buffers.end()) {
      buffers_[i] = torch::Tensor();
      continue;
    }
    if (!it->second.sizes().equals(params_[i].second.sizes())) {
      throw UserError("checkpoint momentum buffer '" + params_[i].first + "' has the wrong shape");
    }
    buffers_[i] = it->second.to(params_[i].second.options()).clone();
  }
}

void normalized_gradient_step(const torch::Tensor& delta, const torch::Tensor& negative_images,
                              double eta, NormalizedStepMode mode) {
  torch::NoGradGuard no_grad;
  constexpr double kMinNorm = 1e-12;
  if (delta.defined() && delta.grad().defined()) {
    const auto g = delta.grad();
    auto d = delta;  // Shares the storage: the step is in place.
    d.sub_(g * eta / g.norm().clamp_min(kMinNorm));
  }
  if (negative_images.defined() && negative_images.grad().defined()) {
    CHECK_EQ(negative_images.dim(), 4) << "negative images must be [K, 3, S, S]";
    const auto g = negative_images.grad();
    auto n = negative_images;
    if (mode == NormalizedStepMode::kMean) {
      const auto m = g.mean(0, /*keepdim=*/true);
      n.sub_(m * eta / m.norm().clamp_min(kMinNorm));
    } else {
      const auto norms = g.flatten(1).norm(2, 1).clamp_min(kMinNorm).view({-1, 1, 1, 1});
      n.sub_(g * eta / norms);
    }
  }
}

void apply_normalized_step(const config::OptimConfig& optim, const torch::Tensor& delta,
                           const torch::Tensor& negative_images) {
  if (!optim.normalized_step()) return;
  normalized_gradient_step(delta, negative_images, optim.normalized_step_size(),
                           optim.normalized_step_mode() == config::OptimConfig::mean
                               ? NormalizedStepMode::kMean
                               : NormalizedStepMode::kPerImage);
}

}  // namespace hesp::optim
