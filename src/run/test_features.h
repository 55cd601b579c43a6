#pragma once
// The per-clip test video features of a finished run (the paper's Fig. 6), written at
// evaluation beside result.json as <run>/test_features.h5:
//   /features  float32 [N, E]  F_V of each test clip (temporal pooling output, not
//                              normalised), in result.json's clip order
//   /labels    int32   [N]     known-class index, -1 = a clip of an unknown class
//   /clip_ids  strings [N]
// Small: a few hundred clips x E (512 for ViT-B) floats.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hesp::run {

struct TestFeatures {
  torch::Tensor features;  // [N, E] float32
  std::vector<int32_t> labels;
  std::vector<std::string> clip_ids;
};

// Writes atomically (temporary file, rename). Throws UserError naming the file.
void write_test_features(const std::filesystem::path& path, const TestFeatures& f);

// Throws UserError naming the file when it is unreadable or its datasets disagree.
TestFeatures read_test_features(const std::filesystem::path& path);

}  // namespace hesp::run
