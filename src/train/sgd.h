#pragma once
// SGD with momentum and weight decay, with exactly PyTorch's update rule
//   d = g + wd * p;  buf = d (first step) or momentum * buf + d;  p -= lr * buf
// written here (not torch::optim::SGD) so that its state has stable names for
// checkpoints and does not depend on how a LibTorch version keys optimiser state.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace hesp::train {

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

}  // namespace hesp::train
