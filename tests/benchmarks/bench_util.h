#pragma once
// Shared helpers for the benchmarks in tests/benchmarks (run by launch/bench.sh).
// Every benchmark reports its figures beside the machine's own reference figure (the
// sgemm ceiling through torch) and writes them to bench-results/<name>.json.
#include <torch/torch.h>
#include "util/resources.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace hesp::bench {

// The median of `v` (the upper middle element for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Seconds per call of fn, median of `reps` timed runs after `warmup` untimed ones.
inline double time_median(const std::function<void()>& fn, int reps = 5, int warmup = 1) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// fp32 matrix-product GFLOP/s through torch::mm for n x n operands with `threads` threads.
inline double sgemm_gflops(int64_t n, int threads) {
  const int saved = torch::get_num_threads();
  torch::set_num_threads(threads);
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  const int reps = n >= 4096 ? 3 : 10;
  const double s = time_median([&] { torch::mm_out(c, a, b); }, reps, 1);
  torch::set_num_threads(saved);
  return 2.0 * n * n * n / s / 1e9;
}

// The ceiling every benchmark compares against: the best of 1024^2 and 4096^2 sgemm with
// `threads` threads (measured once per process).
inline double sgemm_ceiling(int threads) {
  static std::map<int, double> cache;
  auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  const double g = std::max(sgemm_gflops(1024, threads), sgemm_gflops(2048, threads));
  cache[threads] = g;
  return g;
}

inline double peak_rss_mib() { return resources::peak_rss_mib(); }

// Where results go: $HESP_BENCH_DIR or ./bench-results.
inline std::filesystem::path results_dir() {
  const char* d = std::getenv("HESP_BENCH_DIR");
  std::filesystem::path p = d ? d : "bench-results";
  std::filesystem::create_directories(p);
  return p;
}

// Writes bench-results/<name>.json and prints it.
inline void write_results(const std::string& name, const nlohmann::json& j) {
  const auto path = results_dir() / (name + ".json");
  std::ofstream(path) << j.dump(2) << "\n";
  std::cout << "[" << name << "] results -> " << path.string() << "\n" << j.dump(2) << std::endl;
}

}  // namespace hesp::bench
