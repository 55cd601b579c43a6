// The machine's reference figure: fp32 matrix-product GFLOP/s through torch (OpenBLAS),
// 1024^2 and 4096^2, with 1 thread and with all threads. Every other benchmark reports
// its speed as a fraction of this ceiling.
#include <dlfcn.h>

#include "bench_util.h"
#include "util/threads.h"

int main() {
  using namespace hesp;
  const int all = threads::available_cores();
  nlohmann::json j;
  j["cores"] = all;
  Dl_info info{};
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sym != nullptr && dladdr(sym, &info) != 0 && info.dli_fname != nullptr) {
    j["blas_library"] = info.dli_fname;
  }
  for (int64_t n : {1024, 4096}) {
    for (int t : {1, all}) {
      const double g = bench::sgemm_gflops(n, t);
      j["sgemm_gflops"][std::to_string(n)][std::to_string(t) + "_threads"] = g;
      std::cout << "sgemm " << n << "^2, " << t << " thread(s): " << g << " GFLOP/s" << std::endl;
    }
  }
  bench::write_results("machine", j);
  return 0;
}
