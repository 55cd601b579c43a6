#pragma once
// Reads one shard: header, per-clip records and frames of any clip by index (one
// hyperslab read per clip, no neighbours touched). Opening validates the structure
// (dataset lengths, offsets monotone and inside jpeg_bytes); every problem throws
// UserError naming the shard file (and the clip where there is one).
// One reader per process after any fork; decode outside HDF5 calls when threading.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/format/h5.h"
#include "data/format/manifest.pb.h"
#include "data/format/shard_format.h"

namespace hesp::data {

struct ShardHeader {
  int format_version = 0;   // 1 or 2 (shard_format.h)
  std::string encoding;     // "jpeg" | "raw"
  int frames_per_clip = 0;  // v1: frames every clip stores; v2: the cap (0 = none)
  int size = 0;
  int64_t num_clips = 0;
};

class ShardReader {
 public:
  // With `expected` (the manifest's entry), a file shorter than the manifest says is
  // reported as truncated before HDF5 tries to open it.
  explicit ShardReader(const std::filesystem::path& path, const ShardInfo* expected = nullptr);

  const std::filesystem::path& path() const { return path_; }
  const ShardHeader& header() const { return header_; }
  const std::vector<shard::ClipRecord>& records() const { return records_; }

  // Frames clip i stores (records()[i].stored_num_frames).
  int stored_frames(int64_t i) const;
  // Encoding jpeg: the stored encoded frames of clip i.
  std::vector<std::string> read_jpeg_frames(int64_t i) const;
  // Either encoding: stored_frames(i)*S*S*3 bytes of RGB frames (decoded for jpeg).
  std::vector<uint8_t> read_rgb_frames(int64_t i) const;
  // Index of a clip id, or -1.
  int64_t find(const std::string& clip_id) const;

 private:
  std::string clip_context(int64_t i) const;

  std::filesystem::path path_;
  h5::Handle file_;
  ShardHeader header_;
  std::vector<shard::ClipRecord> records_;
  std::vector<uint64_t> offsets_;
  std::vector<uint64_t> first_frame_;  // [N + 1]: clip i's frames are [first_frame_[i], [i+1]).
};

}  // namespace hesp::data
