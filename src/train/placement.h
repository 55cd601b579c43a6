#pragma once
// Where a rank computes. CPU by default. With train.device: cuda, CUDA device
// local_rank mod visible devices. The communicator for that device comes from the
// communicator factory (comm/communicator_factory.h): with more than one rank on CUDA,
// NCCL over the MPI world (host tensors still travel over MPI; see
// comm/nccl_communicator.h), the world itself otherwise.
#include <memory>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "util/torch_compat.h"

namespace hesp::train {

struct Placement {
  torch::Device device{torch::kCPU};
  bool bf16_autocast = false;  // train.bf16_autocast, on CUDA only.
  // The communicator the run uses: the world (not owned), or an NCCL communicator over it.
  std::shared_ptr<comm::Communicator> comm;
};

// Collective when it creates an NCCL communicator. Throws ConfigError (naming
// train.device) when CUDA is asked for and this build or machine cannot provide it.
Placement place_rank(const config::Experiment& exp, comm::Communicator& world);

}  // namespace hesp::train
