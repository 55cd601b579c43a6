#include "util/threads.h"

#include <dlfcn.h>
#include <glog/logging.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "util/torch_compat.h"

namespace hesp::threads {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int threads_per_rank(int requested, int local_size) {
  if (requested > 0) return requested;
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK"); slurm != nullptr) {
    char* end = nullptr;
    const long cpus = std::strtol(slurm, &end, 10);
    if (end != slurm && *end == '\0' && cpus > 0) {
      return static_cast<int>(std::min<long>(cpus, available_cores()));
    }
  }
  return std::max(1, available_cores() / std::max(1, local_size));
}

int configure(int requested, int local_size) {
  const int n = threads_per_rank(requested, local_size);
  const std::string s = std::to_string(n);
  setenv("OMP_NUM_THREADS", s.c_str(), 1);
  setenv("OPENBLAS_NUM_THREADS", s.c_str(), 1);
  setenv("MKL_NUM_THREADS", s.c_str(), 1);
  // OpenBLAS reads its variable at load time, which has already happened: call its setter.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(n);
  }
  torch::set_num_threads(n);
  const int cores = available_cores();
  if (n * local_size > cores) {
    LOG(WARNING) << "oversubscribed: " << local_size << " local ranks x " << n << " threads > "
                 << cores << " cores; expect a slowdown (set --threads)";
  }
  return n;
}

}  // namespace hesp::threads
