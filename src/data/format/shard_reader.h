#pragma once
// The one reader of the shard format (docs/datasets.md, "Shard format"; versions 1 and 2):
// read_shard_index parses and validates a shard's header, per-clip records and frame
// index; read_clip_bytes reads one clip's stored bytes (one hyperslab read, no
// neighbours touched). ShardReader wraps both around one open file (hesp-pack, tests);
// the loader's Dataset keeps the index and its own per-process handles and calls the same
// two functions. Every problem throws UserError naming the shard file (and the clip where
// there is one). One reader per process after any fork; decode outside HDF5 calls when
// threading.
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

// A shard's parsed, validated index.
struct ShardIndex {
  ShardHeader header;
  std::vector<shard::ClipRecord> records;  // [N]
  std::vector<uint64_t> frame_offsets;     // jpeg: [F + 1] byte offsets into jpeg_bytes.
  std::vector<uint64_t> first_frame;       // [N + 1]: clip i's frames are [first[i], first[i+1]).

  bool jpeg() const { return header.encoding == "jpeg"; }
  // Frames clip i stores.
  int frames(size_t i) const { return static_cast<int>(first_frame[i + 1] - first_frame[i]); }
  // Bytes read_clip_bytes writes for clip i: jpeg: the encoded frames back to back
  // (frame j is [frame_offsets[a + j] - frame_offsets[a], ...) with a = first_frame[i]);
  // raw: frames(i) * S * S * 3 RGB bytes (HWC per frame).
  uint64_t clip_bytes(size_t i) const;
};

// Reads and validates the index of an open shard file (structure, dataset lengths,
// offsets monotone and inside jpeg_bytes, raw shape); `where` names the file in errors.
ShardIndex read_shard_index(hid_t file, const std::string& where);
// Reads clip i's stored bytes (ShardIndex::clip_bytes(i) of them) into `out` with one
// HDF5 read. Throws UserError on a clip index out of range or a failed read.
void read_clip_bytes(hid_t file, const ShardIndex& index, int64_t i, uint8_t* out,
                     const std::string& where);

class ShardReader {
 public:
  // With `expected` (the manifest's entry), a file shorter than the manifest says is
  // reported as truncated before HDF5 tries to open it.
  explicit ShardReader(const std::filesystem::path& path, const ShardInfo* expected = nullptr);

  const std::filesystem::path& path() const { return path_; }
  const ShardHeader& header() const { return index_.header; }
  const std::vector<shard::ClipRecord>& records() const { return index_.records; }
  const ShardIndex& index() const { return index_; }

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
  ShardIndex index_;
};

}  // namespace hesp::data
