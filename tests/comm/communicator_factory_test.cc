// The backend enum (names, parsing) and the communicator factory. The same binary runs as
// a plain process (single backend) and under `mpirun -np 2` (MPI).
#include <gtest/gtest.h>

#include <string>

#include "comm/backend.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "util/errors.h"

namespace hesp::comm {
namespace {

TEST(Backend, NamesRoundTrip) {
  for (const Backend b : {Backend::kSingle, Backend::kMpi, Backend::kNccl}) {
    EXPECT_EQ(parse_backend(backend_name(b), "field"), b);
  }
  EXPECT_EQ(backend_name(Backend::kSingle), "single");
  EXPECT_EQ(backend_name(Backend::kMpi), "mpi");
  EXPECT_EQ(backend_name(Backend::kNccl), "nccl");
}

TEST(Backend, UnknownNameIsAUserErrorNamingFieldValueAndAcceptedNames) {
  for (const char* bad : {"gloo", "MPI", "", "nccl "}) {
    try {
      parse_backend(bad, "distributed.backend");
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const UserError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("distributed.backend"), std::string::npos) << what;
      EXPECT_NE(what.find("'" + std::string(bad) + "'"), std::string::npos) << what;
      EXPECT_NE(what.find("single, mpi, nccl"), std::string::npos) << what;
      EXPECT_EQ(e.exit_code(), kExitConfigError);
    }
  }
}

TEST(Factory, BackendForDevice) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 1);
  EXPECT_EQ(backend_for_device(cpu, Backend::kSingle, 1), Backend::kSingle);
  EXPECT_EQ(backend_for_device(cpu, Backend::kMpi, 4), Backend::kMpi);
  EXPECT_EQ(backend_for_device(gpu, Backend::kSingle, 1), Backend::kSingle);
  EXPECT_EQ(backend_for_device(gpu, Backend::kMpi, 1), Backend::kMpi);
  EXPECT_EQ(backend_for_device(gpu, Backend::kMpi, 2), Backend::kNccl);
  EXPECT_EQ(backend_for_device(gpu, Backend::kNccl, 2), Backend::kNccl);
}

TEST(Factory, WorldMatchesTheLaunch) {
  auto w = world();
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w, world()) << "one world per process";
  EXPECT_EQ(w->backend(), world_backend());
  EXPECT_EQ(world_backend(), launched_by_mpi() ? Backend::kMpi : Backend::kSingle);
  EXPECT_TRUE(backend_built(Backend::kSingle));
  if (w->backend() == Backend::kSingle) {
    EXPECT_EQ(w->size(), 1);
  }
}

TEST(Factory, TheWorldsBackendIsTheWorldItself) {
  auto w = world();
  const auto made = make_communicator(w->backend(), *w, torch::Device(torch::kCPU), 0.0);
  EXPECT_EQ(made.get(), w.get());
  EXPECT_EQ(made->all_reduce_int(1, ReduceOp::kSum), w->size());
}

TEST(Factory, SingleBackendOverASingleWorld) {
  SingleCommunicator single;
  const auto made = make_communicator(Backend::kSingle, single, torch::Device(torch::kCPU), 0.0);
  EXPECT_EQ(made.get(), &single);
  EXPECT_EQ(made->backend(), Backend::kSingle);
  // Another world backend cannot be made over it, and NCCL needs a CUDA device.
  EXPECT_THROW(make_communicator(Backend::kMpi, single, torch::Device(torch::kCPU), 0.0),
               UserError);
  EXPECT_THROW(make_communicator(Backend::kNccl, single, torch::Device(torch::kCPU), 0.0),
               UserError);
}

}  // namespace
}  // namespace hesp::comm
