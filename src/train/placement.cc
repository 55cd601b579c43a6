#include "train/placement.h"

#include <glog/logging.h>

#include "util/errors.h"

#if defined(HESP_HAVE_NCCL)
#include "comm/nccl_communicator.h"
#endif

namespace hesp::train {

Placement place_rank(const config::Experiment& exp, comm::Communicator& world) {
  Placement p;
  p.comm = &world;
  if (exp.train().device() != config::TrainConfig::cuda) return p;
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
  p.device =
      torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(world.local_rank() % devices));
  p.bf16_autocast = exp.train().bf16_autocast();
  if (world.size() > 1 && world.backend() != "nccl") {
#if defined(HESP_HAVE_NCCL)
    // Non-owning view of the world: it outlives the run.
    const std::shared_ptr<comm::Communicator> bootstrap(&world, [](comm::Communicator*) {});
    p.owned =
        std::make_shared<comm::NcclCommunicator>(bootstrap, exp.distributed().nccl_timeout_s());
    p.comm = p.owned.get();
#else
    throw ConfigError("train.device: cuda with " + std::to_string(world.size()) +
                      " ranks needs NCCL, and this build has none (docs/building.md)");
#endif
  }
  LOG(INFO) << "device " << p.device.str() << (p.bf16_autocast ? ", bf16 autocast" : "")
            << ", collectives on " << p.comm->backend();
  return p;
}

}  // namespace hesp::train
