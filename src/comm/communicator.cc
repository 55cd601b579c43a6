#include "comm/communicator.h"

#include <glog/logging.h>

#include <cstdlib>

#include "util/errors.h"
#if defined(HESP_HAVE_MPI)
#include "comm/mpi_communicator.h"
#endif

namespace hesp::comm {

namespace {

class CompletedCollective final : public PendingCollective {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<PendingCollective> Communicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  all_reduce(t, op);
  return std::make_unique<CompletedCollective>();
}

void Communicator::all_reduce_mean(torch::Tensor& t) {
  all_reduce(t, ReduceOp::kSum);
  if (size() > 1) t.div_(size());
}

std::string Communicator::broadcast_string(const std::string& s, int root) {
  std::string copy = s;
  broadcast_bytes(copy, root);
  return copy;
}

int64_t Communicator::all_reduce_int(int64_t v, ReduceOp op) {
  auto t = torch::tensor({v}, torch::kInt64);
  all_reduce(t, op);
  return t.item<int64_t>();
}

double Communicator::all_reduce_double(double v, ReduceOp op) {
  auto t = torch::tensor({v}, torch::kFloat64);
  all_reduce(t, op);
  return t.item<double>();
}

void SingleCommunicator::broadcast(torch::Tensor& t, int root) {
  CHECK_EQ(root, 0) << "broadcast root out of range";
  CHECK(t.is_contiguous());
}

void SingleCommunicator::broadcast_bytes(std::string&, int root) {
  CHECK_EQ(root, 0) << "broadcast root out of range";
}

void SingleCommunicator::all_reduce(torch::Tensor& t, ReduceOp) {
  CHECK(t.is_contiguous());
  const auto type = t.scalar_type();
  CHECK(type == torch::kFloat || type == torch::kDouble || type == torch::kInt ||
        type == torch::kLong)
      << "all_reduce: unsupported dtype " << type;
}

torch::Tensor SingleCommunicator::all_gather(const torch::Tensor& t) {
  CHECK_GE(t.dim(), 1) << "all_gather needs a tensor with a leading dimension";
  return t.clone();
}

torch::Tensor SingleCommunicator::all_gather_v(const torch::Tensor& t) { return all_gather(t); }

std::unique_ptr<Communicator> SingleCommunicator::split(int, int) {
  return std::make_unique<SingleCommunicator>();
}

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

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

}  // namespace

std::shared_ptr<Communicator> world() {
  static std::shared_ptr<Communicator> instance = [] {
    std::shared_ptr<Communicator> c;
#if defined(HESP_HAVE_MPI)
    if (launched_by_mpi()) c = MpiCommunicator::world();
#endif
    if (!c) c = std::make_shared<SingleCommunicator>();
    check_slurm_world(c->size());
    return c;
  }();
  return instance;
}

}  // namespace hesp::comm
