#pragma once
// The one place that makes communicators: the world of this process (the MPI bootstrap)
// and, for a CUDA device, the NCCL communicator over it. Callers choose with the Backend
// enum (comm/backend.h) and plain values; the base API (comm/communicator.h) knows no
// backend header.
#include <torch/torch.h>

#include <memory>

#include "comm/backend.h"
#include "comm/communicator.h"

namespace hesp::comm {

// True when this process was started by mpirun/mpiexec/srun with an MPI world.
bool launched_by_mpi();

// Whether this build has `backend` (MPI and NCCL are build-time options; single always).
bool backend_built(Backend backend);

// The world's backend: kMpi when launched by an MPI launcher and built with MPI, otherwise
// kSingle.
Backend world_backend();

// The world communicator for this process, of world_backend(). Initialises MPI on first
// use; MPI is finalised at exit. Under SLURM, one rank in an srun step of
// SLURM_STEP_NUM_TASKS > 1 tasks throws UserError (N silent singletons); a plain command in
// a batch/salloc shell does not.
std::shared_ptr<Communicator> world();

// The backend for the collectives of a rank whose tensors live on `device`, in a world of
// `world_size` ranks on `world_backend`: NCCL for a CUDA device and more than one rank
// (host tensors still travel over the world), the world's own otherwise.
Backend backend_for_device(const torch::Device& device, Backend world_backend, int world_size);

// A communicator of `backend` for tensors on `device`, over `world`:
//   the world's own backend: `world` itself, not owned (it must outlive the result);
//   kNccl: a new NCCL communicator on CUDA device device.index(), its unique id broadcast
//     over `world` (collective over `world`), which also carries its host tensors; each
//     collective bounded by nccl_timeout_s (0 = never).
// Throws UserError for a backend this build lacks, or another world backend than `world`'s.
std::shared_ptr<Communicator> make_communicator(Backend backend, Communicator& world,
                                                const torch::Device& device, double nccl_timeout_s);

}  // namespace hesp::comm
