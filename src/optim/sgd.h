#pragma once
// SGD with momentum and weight decay, with exactly PyTorch's update rule
//   d = g + wd * p;  buf = d (first step) or momentum * buf + d;  p -= lr * buf
// written here (not torch::optim::SGD) so that its state has stable names for
// checkpoints and does not depend on how a LibTorch version keys optimiser state.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "config/experiment.pb.h"

namespace hesp::optim {

class Sgd {
 public:
  Sgd(std::vector<std::pair<std::string, torch::Tensor>> params, double momentum,
      double weight_decay);

  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  void zero_grad();
  void step();

  // Momentum buffers by parameter name (absent before the first step).
  std::map<std::string, torch::Tensor> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& buffers);

  const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return params_; }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> buffers_;
  double lr_ = 0, momentum_, weight_decay_;
};

// The normalised-gradient step of spec §8, run after backward (gradients already averaged
// over ranks) and before Sgd::step:
//   delta [3, s, s]      delta -= eta g / |g|                  (|step|_2 = eta, [0,1] pixels)
//   N [K, 3, S, S]       per_image: N_k -= eta g_k / |g_k|     (each image's own norm)
//                        mean:      N_k -= eta m / |m|, m = mean_k g_k (the reference: all
//                                   K images get the same update)
// in CLIP-normalised units for N. Undefined tensors, or ones without a gradient, are
// skipped; a zero gradient gives no step (the norm is floored at 1e-12).
enum class NormalizedStepMode { kPerImage, kMean };
void normalized_gradient_step(const torch::Tensor& delta, const torch::Tensor& negative_images,
                              double eta, NormalizedStepMode mode);
// The step as configured: optim.normalized_step (on/off), optim.normalized_step_size (eta)
// and optim.normalized_step_mode.
void apply_normalized_step(const config::OptimConfig& optim, const torch::Tensor& delta,
                           const torch::Tensor& negative_images);

}  // namespace hesp::optim
