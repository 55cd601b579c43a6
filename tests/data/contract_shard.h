#pragma once
// Test-side writer of packed datasets, written from the shard contract in
// docs/datasets.md with the raw HDF5 C API and TurboJPEG (not with hesp-pack's writer), so
// the loader tests also check that reader and contract agree.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hesp::data::testing {

struct TestClip {
  std::string clip_id;
  int32_t label = -1;
  std::string split = "train";
  std::string compound_label;
  int32_t source_num_frames = 0;
  std::vector<std::vector<uint8_t>> frames;  // T frames, S*S*3 RGB HWC each.
  std::vector<std::string> jpeg;             // Filled by write_dataset for encoding jpeg.
};

// A smooth, clip-dependent RGB pattern plus mild noise (JPEG-friendly, like faces).
std::vector<uint8_t> pattern_frame(int size, uint64_t clip_seed, int frame);

// Encodes with TurboJPEG (4:2:0) and decodes with TurboJPEG (default flags).
std::string encode_jpeg(const std::vector<uint8_t>& rgb, int size, int quality);
std::vector<uint8_t> decode_jpeg(const std::string& bytes, int size);

// Writes <dir>/shard-NNNNN.h5 (clips split into shards of `clips_per_shard`) and
// <dir>/manifest.pbtxt. `jpeg` selects the encoding; clips' `jpeg` members are filled.
void write_dataset(const std::filesystem::path& dir, std::vector<TestClip>& clips,
                   const std::vector<std::string>& class_names, int frames, int size, bool jpeg,
                   int clips_per_shard = 1000);

// Flips one byte of a file in place (the byte at `offset`, or the middle when negative).
void flip_byte(const std::filesystem::path& file, int64_t offset = -1);

// Makes `n` clips of `frames` pattern frames with the given labels/splits cycling.
std::vector<TestClip> make_clips(int n, int frames, int size, int num_classes,
                                 const std::vector<std::string>& splits,
                                 const std::string& id_prefix = "clip");

}  // namespace hesp::data::testing
