#pragma once
// A small packed dataset (synthetic AFEW layout, 64 px) and a tiny config for trainer
// tests, made once per test binary in a folder shared by all ranks.
#include <filesystem>
#include <string>

#include "comm/communicator.h"
#include "config/experiment.pb.h"

namespace hesp::train::testing {

struct TestData {
  std::filesystem::path root;    // Work folder (removed at exit by rank 0).
  std::filesystem::path packed;  // Packed AFEW dataset.
  std::string clip_weights;      // The tiny fixture CLIP.
};

extern bool g_test_data_made;  // test_data() has run (so there is a folder to remove).

// Collective: rank 0 synthesises and packs, everyone gets the paths.
const TestData& test_data(comm::Communicator& comm);

// hesp on the test data: K = 5 known of 7, T = 2, batch 4 (global), `epochs` epochs.
config::Experiment tiny_run(const TestData& d, config::Method method, int epochs);

// The learnable tensors of the newest checkpoint of a run.
std::map<std::string, torch::Tensor> final_tensors(const std::filesystem::path& run_dir);

}  // namespace hesp::train::testing
