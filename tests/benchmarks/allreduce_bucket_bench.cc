// Bucketed gradient averaging vs one all-reduce per tensor, on a gradient set shaped like
// many small prompt tensors plus a few large ones (~6 MiB fp32 in 330 tensors). Run under
// `mpirun -np 2` for the real comparison; as one process it measures the pack/unpack
// overhead alone. Figures are printed beside the local memcpy rate (the ceiling for
// packing) and the sgemm ceiling of the machine.
#include "bench_util.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "optim/gradient_allreduce.h"
#include "util/logging.h"

int main(int, char** argv) {
  using namespace hesp;
  logging::init(argv[0]);
  auto world = comm::world();
  logging::configure_for_rank(world->rank(), false);
  torch::set_num_threads(1);

  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 300; ++i) grads.push_back(torch::randn({16, 64}));  // ~4 KiB each
  for (int i = 0; i < 28; ++i) grads.push_back(torch::randn({512}));      // 2 KiB each
  grads.push_back(torch::randn({3, 224, 224}));                           // ~0.6 MiB
  grads.push_back(torch::randn({1024, 1024}));                            // 4 MiB
  int64_t bytes = 0;
  for (const auto& g : grads) bytes += g.numel() * 4;

  nlohmann::json j;
  j["ranks"] = world->size();
  j["backend"] = comm::backend_name(world->backend());
  j["tensors"] = grads.size();
  j["bytes"] = bytes;
  {
    auto a = torch::rand({16 << 20}), b = torch::empty_like(a);
    j["memcpy_gib_per_s"] = 64.0 / 1024.0 / bench::time_median([&] { b.copy_(a); }, 5, 1);
  }
  j["sgemm_ceiling_gflops_1thread"] = bench::sgemm_ceiling(1);

  auto report = [&](const std::string& name, double s, int calls) {
    const double gib_s = static_cast<double>(bytes) / s / (1 << 30);
    j["runs"].push_back(
        {{"name", name}, {"seconds", s}, {"collectives", calls}, {"gib_per_s", gib_s}});
    if (world->rank() == 0) {
      std::cout << name << ": " << s * 1e3 << " ms, " << calls << " all-reduces, " << gib_s
                << " GiB/s of gradients" << std::endl;
    }
  };
  world->barrier();
  const double per_tensor = bench::time_median(
      [&] {
        for (auto& g : grads) world->all_reduce_mean(g);
      },
      5, 1);
  report("per_tensor", per_tensor, static_cast<int>(grads.size()));
  for (int mb : {1, 4, 25}) {
    const int64_t cap = int64_t{mb} << 20;
    int calls = 0;
    world->barrier();
    const double s = bench::time_median(
        [&] { calls = optim::all_reduce_mean_bucketed(*world, grads, cap); }, 5, 1);
    report("bucketed_" + std::to_string(mb) + "mb", s, calls);
  }
  // Overlap with backward: a chain of 8 layers (1024 x 1024 weights, 4 MiB each, one
  // bucket each at a 4 MiB cap), so backward produces one bucket per layer with a layer's
  // matrix products between them. Backward alone, then backward + all-reduce after it,
  // then backward with the hooks (all-reduces started as buckets fill, finished after).
  {
    std::vector<torch::Tensor> weights;
    for (int k = 0; k < 8; ++k) {
      weights.push_back((torch::randn({1024, 1024}) * 0.03).requires_grad_());
    }
    const auto x = torch::randn({256, 1024});
    auto backward = [&] {
      auto h = x;
      for (auto& w : weights) h = torch::tanh(h.mm(w));
      h.sum().backward();
    };
    auto zero = [&] {
      for (auto& w : weights) w.mutable_grad() = torch::Tensor();
    };
    const int64_t cap = int64_t{4} << 20;
    world->barrier();
    const double alone = bench::time_median(
        [&] {
          zero();
          backward();
        },
        5, 1);
    optim::GradientAllReducer after(*world, weights, cap);
    world->barrier();
    const double post = bench::time_median(
        [&] {
          zero();
          backward();
          after.all_reduce_grads();
        },
        5, 1);
    // Hooks listed last layer first: the order backward produces the gradients.
    optim::GradientAllReducer hooked(*world, {weights.rbegin(), weights.rend()}, cap);
    hooked.enable_hooks();
    world->barrier();
    const double overlapped = bench::time_median(
        [&] {
          zero();
          backward();
          hooked.finish();
        },
        5, 1);
    j["overlap"] = {{"buckets", hooked.bucket_count()},
                    {"backward_s", alone},
                    {"backward_then_allreduce_s", post},
                    {"backward_with_hooks_s", overlapped},
                    {"exposed_allreduce_after_s", post - alone},
                    {"exposed_allreduce_hooks_s", overlapped - alone}};
    if (world->rank() == 0) {
      std::cout << "overlap (8 x 4 MiB buckets): backward " << alone * 1e3
                << " ms; + all-reduce after " << (post - alone) * 1e3 << " ms; with hooks + "
                << (overlapped - alone) * 1e3 << " ms" << std::endl;
    }
  }
  if (world->rank() == 0) {
    std::cout << "memcpy " << j["memcpy_gib_per_s"] << " GiB/s, sgemm ceiling (1 thread) "
              << j["sgemm_ceiling_gflops_1thread"] << " GFLOP/s" << std::endl;
    bench::write_results("allreduce_bucket", j);
  }
  return 0;
}
