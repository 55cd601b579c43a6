#include "train/placement.h"

#include <glog/logging.h>

#include "comm/communicator_factory.h"
#include "util/errors.h"

namespace hesp::train {
namespace {

// The CUDA device of this rank: local rank mod visible devices.
torch::Device cuda_device(const comm::Communicator& world) {
  const int devices = compat::cuda_device_count();
  if (devices == 0) {
#if defined(HESP_TORCH_CUDA)
    throw ConfigError("train.device: cuda, but no CUDA device is visible to rank " +
                      std::to_string(world.rank()));
#else
    throw ConfigError(
        "train.device: cuda, but this build uses a LibTorch without CUDA (build against the "
        "official LibTorch with CUDA: docs/building.md)");
#endif
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(world.local_rank() % devices));
}

}  // namespace

Placement place_rank(const config::Experiment& exp, comm::Communicator& world) {
  Placement p;
  const bool cuda = exp.train().device() == config::TrainConfig::cuda;
  if (cuda) {
    p.device = cuda_device(world);
    p.bf16_autocast = exp.train().bf16_autocast();
  }
  const comm::Backend backend = comm::backend_for_device(p.device, world.backend(), world.size());
  // The world's own backend is built; only NCCL, for CUDA with several ranks, may be missing.
  if (!comm::backend_built(backend)) {
    throw ConfigError("train.device: cuda with " + std::to_string(world.size()) +
                      " ranks needs NCCL, and this build has none (docs/building.md)");
  }
  p.comm = comm::make_communicator(backend, world, p.device, exp.distributed().nccl_timeout_s());
  if (cuda) {
    LOG(INFO) << "device " << p.device.str() << (p.bf16_autocast ? ", bf16 autocast" : "")
              << ", collectives on " << comm::backend_name(p.comm->backend());
  }
  return p;
}

}  // namespace hesp::train
