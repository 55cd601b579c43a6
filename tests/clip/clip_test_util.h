#pragma once
// Shared helpers for the CLIP tests: fixture paths and tensor comparison with a useful
// failure message.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hesp::clip::testing {

inline std::string fixture(const std::string& name) {
  return std::string(HESP_SOURCE_DIR) + "/tests/data/fixtures/clip/" + name;
}

// A fresh scratch folder per test binary run, under the build tree.
inline std::filesystem::path scratch_dir() {
  auto dir =
      std::filesystem::path(HESP_BINARY_DIR) / "clip-test-scratch" / std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// |a - b| <= atol + rtol |b| elementwise, reporting the worst element.
inline ::testing::AssertionResult all_close(const torch::Tensor& actual,
                                            const torch::Tensor& expected, double atol,
                                            double rtol) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream o;
    o << "shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << o.str();
  }
  auto a = actual.detach().to(torch::kDouble), b = expected.detach().to(torch::kDouble);
  auto excess = (a - b).abs() - (atol + rtol * b.abs());
  const double worst = excess.numel() ? excess.max().item<double>() : -1;
  if (worst <= 0) return ::testing::AssertionSuccess();
  const double max_abs = (a - b).abs().max().item<double>();
  return ::testing::AssertionFailure() << "max |diff| " << max_abs << " exceeds atol " << atol
                                       << " + rtol " << rtol << " * |expected|";
}

}  // namespace hesp::clip::testing
