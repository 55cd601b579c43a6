#include "train/sgd.h"

#include <glog/logging.h>

#include "util/errors.h"

namespace hesp::train {

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

}  // namespace hesp::train
