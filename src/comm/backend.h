#pragma once
// Which communicator backend runs the collectives. Every choice of a backend goes through
// this enum; its names ("single", "mpi", "nccl") are what logs and `hesp comm info` print
// and the only strings a backend is ever parsed from.
#include <string>
#include <string_view>

namespace hesp::comm {

enum class Backend {
  kSingle,  // One process (SingleCommunicator, comm/communicator.h).
  kMpi,     // CPU tensors over MPI (comm/mpi_communicator.h).
  kNccl,    // CUDA tensors over NCCL, bootstrapped by MPI (comm/nccl_communicator.h).
};

// "single", "mpi" or "nccl".
std::string backend_name(Backend backend);

// The backend named `value`. Throws ConfigError naming `field`, the value and the accepted
// names when `value` names none.
Backend parse_backend(std::string_view value, std::string_view field);

}  // namespace hesp::comm
