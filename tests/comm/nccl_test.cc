// NCCL backend collectives on CUDA tensors. Compiled wherever CUDA and NCCL are found;
// skipped (not failed) when no GPU is visible or LibTorch has no CUDA.
#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "comm/nccl_communicator.h"
#include "support/mpi_gtest.h"
#include "util/logging.h"
#include "util/torch_compat.h"

namespace hesp::comm {
namespace {

TEST(Nccl, CollectivesMatchLocalValues) {
  if (!cuda_device_available() || !compat::torch_has_cuda()) {
    GTEST_SKIP() << "no CUDA device or CPU-only LibTorch: NCCL path not exercised";
  }
  auto world_comm = world();
  ASSERT_EQ(
      backend_for_device(torch::Device(torch::kCUDA, 0), world_comm->backend(), world_comm->size()),
      world_comm->size() > 1 ? Backend::kNccl : world_comm->backend());
  const auto dev = torch::Device(
      torch::kCUDA,
      static_cast<c10::DeviceIndex>(world_comm->local_rank() % compat::cuda_device_count()));
  const auto made = make_communicator(Backend::kNccl, *world_comm, dev, /*nccl_timeout_s=*/120);
  auto& nccl = *made;
  ASSERT_EQ(nccl.backend(), Backend::kNccl);
  auto t =
      torch::full({1000}, static_cast<float>(nccl.rank() + 1), torch::TensorOptions().device(dev));
  nccl.all_reduce(t, ReduceOp::kSum);
  const float expected = nccl.size() * (nccl.size() + 1) / 2.0f;
  EXPECT_TRUE(torch::allclose(t.cpu(), torch::full({1000}, expected)));
  auto b = torch::full({7}, static_cast<float>(nccl.rank()), torch::TensorOptions().device(dev));
  nccl.broadcast(b, 0);
  EXPECT_TRUE(torch::equal(b.cpu(), torch::zeros({7})));
  auto g = nccl.all_gather_v(
      torch::full({nccl.rank() + 1, 3}, 1.0f, torch::TensorOptions().device(dev)));
  EXPECT_EQ(g.size(0), nccl.size() * (nccl.size() + 1) / 2);
}

}  // namespace
}  // namespace hesp::comm

int main(int argc, char** argv) {
  hesp::testing::MpiGtestOptions options;
  options.all_skipped_code = 77;  // ctest: "skipped" when there was no GPU to run on.
  return hesp::testing::run_all_tests_on_every_rank(argc, argv, options);
}
