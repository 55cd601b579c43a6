#include "train/training_state.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "util/errors.h"
#include "util/torch_compat.h"

namespace hesp::train {
namespace {

// Names of the state's scalars in a checkpoint.
constexpr char kEpochSteps[] = "epoch/steps";
constexpr char kEpochLossPrefix[] = "epoch/sum/";  // + "loss", "loss/<term>"
constexpr char kEpochDataWait[] = "epoch/data_wait_s";
constexpr char kEpochAllreduce[] = "epoch/allreduce_s";
constexpr char kEpochStep[] = "epoch/step_s";
constexpr char kEpochSkipped[] = "epoch/skipped_steps";

constexpr char kParamPrefix[] = "param/";
constexpr char kSgdPrefix[] = "sgd/";
constexpr char kRngCpu[] = "rng/torch_cpu";
constexpr char kCamCache[] = "cam_cache";

}  // namespace

void EpochStatistics::add_step(const std::map<std::string, double>& losses, double data_wait,
                               double allreduce, double step) {
  for (const auto& [k, v] : losses) loss_sums[k] += v;
  data_wait_s += data_wait;
  allreduce_s += allreduce;
  step_s += step;
  ++steps;
}

std::map<std::string, double> EpochStatistics::mean_losses(comm::Communicator& comm) const {
  std::map<std::string, double> out;
  if (loss_sums.empty()) return out;
  std::vector<double> means;
  for (const auto& [k, v] : loss_sums) means.push_back(v / std::max<int64_t>(1, steps));
  auto t = torch::tensor(means, torch::kFloat64);
  comm.all_reduce(t, comm::ReduceOp::kSum);
  size_t i = 0;
  for (const auto& [k, v] : loss_sums)
    out[k] = t[static_cast<int64_t>(i++)].item<double>() / comm.size();
  return out;
}

EpochStatistics EpochStatistics::averaged_over_ranks(comm::Communicator& comm) const {
  EpochStatistics out = *this;
  if (loss_sums.empty()) return out;
  std::vector<double> sums;
  for (const auto& [k, v] : loss_sums) sums.push_back(v);
  auto t = torch::tensor(sums, torch::kFloat64);
  comm.all_reduce(t, comm::ReduceOp::kSum);
  size_t i = 0;
  for (auto& [k, v] : out.loss_sums) v = t[static_cast<int64_t>(i++)].item<double>() / comm.size();
  return out;
}

void TrainingState::start_next_epoch() {
  position = {position.epoch + 1, 0};
  epoch = EpochStatistics{};
}

void TrainingState::save(checkpoint::CheckpointState* ckpt) const {
  ckpt->epoch = position.epoch;
  ckpt->step = position.step;
  ckpt->scalars[kEpochSteps] = static_cast<double>(epoch.steps);
  for (const auto& [k, v] : epoch.loss_sums) ckpt->scalars[kEpochLossPrefix + k] = v;
  ckpt->scalars[kEpochDataWait] = epoch.data_wait_s;
  ckpt->scalars[kEpochAllreduce] = epoch.allreduce_s;
  ckpt->scalars[kEpochStep] = epoch.step_s;
  ckpt->scalars[kEpochSkipped] = static_cast<double>(epoch.skipped_steps);
}

void TrainingState::restore(const checkpoint::CheckpointState& ckpt) {
  position = {ckpt.epoch, ckpt.step};
  epoch = EpochStatistics{};
  // A checkpoint of an older hesp has no running sums: the epoch's means then cover the
  // steps after the resume only.
  auto get = [&](const std::string& name) {
    const auto it = ckpt.scalars.find(name);
    return it == ckpt.scalars.end() ? 0.0 : it->second;
  };
  epoch.steps = static_cast<int64_t>(get(kEpochSteps));
  const std::string prefix = kEpochLossPrefix;
  for (const auto& [k, v] : ckpt.scalars) {
    if (k.rfind(prefix, 0) == 0) epoch.loss_sums[k.substr(prefix.size())] = v;
  }
  epoch.data_wait_s = get(kEpochDataWait);
  epoch.allreduce_s = get(kEpochAllreduce);
  epoch.step_s = get(kEpochStep);
  epoch.skipped_steps = static_cast<int64_t>(get(kEpochSkipped));
}

void save_model(const model::HespModelImpl& model, checkpoint::CheckpointState* ckpt) {
  for (const auto& [name, t] : model.learnable()) ckpt->tensors[kParamPrefix + name] = t.detach();
}

void restore_model(const checkpoint::CheckpointState& ckpt, const std::string& source,
                   model::HespModelImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : model.learnable()) {
    auto it = ckpt.tensors.find(kParamPrefix + name);
    if (it == ckpt.tensors.end()) {
      throw UserError(source + ": checkpoint lacks tensor " + kParamPrefix + name);
    }
    if (!it->second.sizes().equals(t.sizes())) {
      throw UserError(source + ": checkpoint tensor " + kParamPrefix + name +
                      " has the wrong shape");
    }
    t.copy_(it->second);
  }
}

void save_optimizer(const optim::Sgd& sgd, checkpoint::CheckpointState* ckpt) {
  for (const auto& [name, t] : sgd.state()) ckpt->tensors[kSgdPrefix + name] = t;
}

void restore_optimizer(const checkpoint::CheckpointState& ckpt, optim::Sgd& sgd) {
  const std::string prefix = kSgdPrefix;
  std::map<std::string, torch::Tensor> buffers;
  for (const auto& [name, t] : ckpt.tensors) {
    if (name.rfind(prefix, 0) == 0) buffers[name.substr(prefix.size())] = t;
  }
  sgd.load_state(buffers);
}

void save_cam_cache(const model::CamCache& cache, checkpoint::CheckpointState* ckpt) {
  ckpt->blobs[kCamCache] = cache.serialize();
}

void restore_cam_cache(const checkpoint::CheckpointState& ckpt, const std::string& source,
                       model::CamCache* cache) {
  const auto it = ckpt.blobs.find(kCamCache);
  if (it != ckpt.blobs.end()) *cache = model::CamCache::parse(it->second, source + " (cam_cache)");
}

void save_rng(checkpoint::CheckpointState* ckpt) {
  ckpt->tensors[kRngCpu] = compat::cpu_generator_state(at::detail::getDefaultCPUGenerator());
}

void restore_rng(const checkpoint::CheckpointState& ckpt) {
  const auto it = ckpt.tensors.find(kRngCpu);
  if (it == ckpt.tensors.end()) return;
  auto gen = at::detail::getDefaultCPUGenerator();
  compat::set_cpu_generator_state(gen, it->second);
}

}  // namespace hesp::train
