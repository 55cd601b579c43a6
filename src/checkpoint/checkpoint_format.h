#pragma once
// The .hespckpt file format: one self-checking file per checkpoint, independent of
// torch::save so that the bytes are under our control and readable across LibTorch
// versions.
//
//   offset  size  field
//   0       8     magic "HESPCKPT"
//   8       4     format version (uint32, little-endian), currently 1
//   12      4     reserved, 0
//   16      8     metadata size M (uint64 LE)
//   24      8     payload size P (uint64 LE)
//   32      64    SHA-256 (lowercase hex) of the M + P bytes that follow the header
//   96      M     CheckpointMeta (checkpoint.proto), binary protobuf
//   96+M    P     payload: raw tensor bytes (little-endian, row-major) and blob bytes
//
// The file size must be exactly 96 + M + P, so a truncated file is caught before hashing.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace hesp::checkpoint {

// Everything a trainer needs to continue exactly where it stopped.
struct CheckpointState {
  // The position: the next step to run (`step` within 0-based `epoch`).
  int64_t epoch = 0;
  int64_t step = 0;
  std::string config_hash;
  std::string manifest_fingerprint;
  std::string config_text;  // The effective config (for a readable refusal on mismatch).
  // Learnable tensors, optimiser buffers and RNG states (uint8), by name. std::map keeps
  // the file bytes deterministic for the same state.
  std::map<std::string, torch::Tensor> tensors;
  // Opaque byte strings by name (e.g. the CAM box cache).
  std::map<std::string, std::string> blobs;
  // Named numbers (e.g. the running sums of the epoch in progress, training_state.h).
  std::map<std::string, double> scalars;
};

inline constexpr size_t kCheckpointHeaderSize = 96;
inline constexpr uint32_t kCheckpointFormatVersion = 1;

// Serialises to the bytes of one .hespckpt file. Tensors may be non-contiguous and on any
// device; they are copied to contiguous CPU memory first.
std::string serialize_checkpoint(const CheckpointState& state);

// Parses and verifies (sizes, checksum, entry bounds, dtypes) the bytes of a .hespckpt
// file. Throws UserError naming `source` on any defect. Returned tensors own their memory.
CheckpointState parse_checkpoint(std::string_view bytes, const std::string& source);

}  // namespace hesp::checkpoint
