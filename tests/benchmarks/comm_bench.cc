// MPI all-reduce bandwidth between the ranks of `mpirun -np 2`, 1 KiB to 64 MiB of fp32.
// Reports algorithm bandwidth (bytes / time) and bus bandwidth (x 2(n-1)/n, the
// conventional figure for ring all-reduce), beside a local memcpy rate as the ceiling.
#include "bench_util.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "util/logging.h"

int main(int, char** argv) {
  using namespace hesp;
  logging::init(argv[0]);
  auto world = comm::world();
  logging::configure_for_rank(world->rank(), false);
  torch::set_num_threads(1);
  nlohmann::json j;
  j["ranks"] = world->size();
  j["backend"] = comm::backend_name(world->backend());
  {
    auto a = torch::rand({16 << 20}), b = torch::empty_like(a);  // 64 MiB
    const double s = bench::time_median([&] { b.copy_(a); }, 5, 1);
    j["memcpy_gib_per_s"] = 64.0 / 1024.0 / s;
  }
  for (int64_t bytes = 1024; bytes <= (int64_t{64} << 20); bytes *= 4) {
    auto t = torch::ones({bytes / 4});
    const int reps = bytes <= (1 << 20) ? 50 : 5;
    world->barrier();
    const double s =
        bench::time_median([&] { world->all_reduce(t, comm::ReduceOp::kSum); }, reps, 2);
    const double algbw = static_cast<double>(bytes) / s / (1 << 30);
    const double busbw = algbw * 2.0 * (world->size() - 1) / world->size();
    nlohmann::json row = {
        {"bytes", bytes}, {"seconds", s}, {"algbw_gib_per_s", algbw}, {"busbw_gib_per_s", busbw}};
    j["all_reduce"].push_back(row);
    if (world->rank() == 0) {
      std::cout << "all_reduce " << bytes << " B: " << s * 1e6 << " us, algbw " << algbw
                << " GiB/s, busbw " << busbw << " GiB/s" << std::endl;
    }
  }
  if (world->rank() == 0) bench::write_results("comm", j);
  return 0;
}
