#include "comm/communicator_factory.h"

#include <glog/logging.h>

#include <cstdlib>
#include <string>

#include "util/errors.h"
#if defined(HESP_HAVE_MPI)
#include "comm/mpi_communicator.h"
#endif
#if defined(HESP_HAVE_NCCL)
#include "comm/nccl_communicator.h"
#endif

namespace hesp::comm {
namespace {

// Refuses N silent singletons: a world of one rank inside an srun step of several tasks
// (srun without a working PMI starts N copies that each believe they are alone). Only a
// step says how many tasks this launch has: SLURM_STEP_NUM_TASKS is set by srun for the
// tasks it starts, never in the batch script of `sbatch --ntasks=N` or the shell of
// `salloc -n N`, where SLURM_NTASKS describes the allocation and a plain command is one
// process (hesp-pack convert, hesp predict, ...). A larger world is one MPI job whatever
// the step says: under mpirun the ranks of the other nodes run in the one-task step that
// started their node's daemon (found on the two-node cluster, tests/cluster).
void check_slurm_world(int world_size) {
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  const char* skip = std::getenv("HESP_SKIP_SLURM_CHECK");
  if (job == nullptr || step_tasks == nullptr || (skip != nullptr && std::string(skip) == "1")) {
    return;
  }
  const int expected = std::atoi(step_tasks);
  if (world_size == 1 && expected > 1) {
    const char* step = std::getenv("SLURM_STEP_ID");
    throw UserError("SLURM job " + std::string(job) + " step " + (step ? step : "?") +
                    " has SLURM_STEP_NUM_TASKS=" + step_tasks + " tasks but the MPI world has " +
                    std::to_string(world_size) +
                    " rank: the tasks did not join one MPI job (launch with srun --mpi=pmix, or "
                    "mpirun inside the allocation; set HESP_SKIP_SLURM_CHECK=1 if this is "
                    "intended)");
  }
}

std::shared_ptr<Communicator> make_world(Backend backend) {
  switch (backend) {
    case Backend::kSingle:
      return std::make_shared<SingleCommunicator>();
    case Backend::kMpi:
#if defined(HESP_HAVE_MPI)
      return MpiCommunicator::world();
#else
      break;
#endif
    case Backend::kNccl:
      break;
  }
  LOG(FATAL) << "no world communicator of backend " << backend_name(backend);
  return nullptr;
}

}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

bool backend_built(Backend backend) {
  switch (backend) {
    case Backend::kSingle:
      return true;
    case Backend::kMpi:
#if defined(HESP_HAVE_MPI)
      return true;
#else
      return false;
#endif
    case Backend::kNccl:
#if defined(HESP_HAVE_NCCL)
      return true;
#else
      return false;
#endif
  }
  return false;
}

Backend world_backend() {
  return backend_built(Backend::kMpi) && launched_by_mpi() ? Backend::kMpi : Backend::kSingle;
}

std::shared_ptr<Communicator> world() {
  static std::shared_ptr<Communicator> instance = [] {
    std::shared_ptr<Communicator> c = make_world(world_backend());
    check_slurm_world(c->size());
    return c;
  }();
  return instance;
}

Backend backend_for_device(const torch::Device& device, Backend world_backend, int world_size) {
  if (device.is_cuda() && world_size > 1) return Backend::kNccl;
  return world_backend;
}

std::shared_ptr<Communicator> make_communicator(Backend backend, Communicator& world,
                                                const torch::Device& device,
                                                [[maybe_unused]] double nccl_timeout_s) {
  if (backend == world.backend()) {
    // Non-owning view of the world: it outlives what is made over it.
    return std::shared_ptr<Communicator>(&world, [](Communicator*) {});
  }
  if (!backend_built(backend)) {
    throw UserError("the " + backend_name(backend) +
                    " communicator backend is not in this build (docs/building.md)");
  }
  if (backend != Backend::kNccl) {
    throw UserError("a " + backend_name(backend) + " communicator cannot be made over a " +
                    backend_name(world.backend()) + " world");
  }
  if (!device.is_cuda() || !device.has_index()) {
    throw UserError("an NCCL communicator needs a CUDA device with an index, got " + device.str());
  }
#if defined(HESP_HAVE_NCCL)
  const std::shared_ptr<Communicator> bootstrap(&world, [](Communicator*) {});
  return std::make_shared<NcclCommunicator>(bootstrap, device.index(), nccl_timeout_s);
#else
  LOG(FATAL) << "unreachable: NCCL is not built";
  return nullptr;
#endif
}

}  // namespace hesp::comm
