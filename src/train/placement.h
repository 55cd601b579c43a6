#pragma once
// Where a rank computes. CPU by default. With train.device: cuda, CUDA device
// local_rank mod visible devices, and, with more than one rank, the collectives on NCCL
// over the MPI world (host tensors still travel over MPI; see comm/nccl_communicator.h).
#include <memory>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "util/torch_compat.h"

namespace hesp::train {

struct Placement {
  torch::Device device{torch::kCPU};
  bool bf16_autocast = false;  // train.bf16_autocast, on CUDA only.
  // The communicator the run uses: the world, or an NCCL communicator over it.
  comm::Communicator* comm = nullptr;
  std::shared_ptr<comm::Communicator> owned;  // The NCCL communicator, when created here.
};

// Collective when it creates an NCCL communicator. Throws ConfigError (naming
// train.device) when CUDA is asked for and this build or machine cannot provide it.
Placement place_rank(const config::Experiment& exp, comm::Communicator& world);

}  // namespace hesp::train
