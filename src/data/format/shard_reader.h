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
#include "data/format/shard_format.h"

namespace hesp::data {

struct ShardHeader {
  int format_version = 0;
  std::string encoding;  // "jpeg" | "raw"
  int frames_per_clip = 0;
  int size = 0;
  int64_t num_clips = 0;
};

class ShardReader {
 public:
  explicit ShardReader(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const ShardHeader& header() const { return header_; }
  const std::vector<shard::ClipRecord>& records() const { return records_; }

  // Encoding jpeg: the T encoded frames of clip i.
  std::vector<std::string> read_jpeg_frames(int64_t i) const;
  // Either encoding: T*S*S*3 bytes of RGB frames (decoded for jpeg).
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
};

}  // namespace hesp::data
