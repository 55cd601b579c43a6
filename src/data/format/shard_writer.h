#pragma once
// Writes one shard, format_version 2 (docs/datasets.md). Frames stream into extendible chunked
// datasets as clips arrive; per-clip metadata is written at finish(). The file lives under a
// temporary name (<final>.partial) until finish() has closed and fsynced it, then it is
// renamed: a crash or a failed write never leaves a file that looks like a whole shard.
// Not thread-safe: one writer thread per shard (HDF5 serialises calls anyway).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/format/h5.h"
#include "data/format/manifest.pb.h"
#include "data/format/shard_format.h"

namespace hesp::data {

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path final_path, const PackParams& params);
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;
  // Removes the temporary file when finish() was not reached.
  ~ShardWriter();

  // Encoding jpeg: 1..cap encoded frames of size x size (any number >= 1 without a cap,
  // PackParams::frames_per_clip = 0). rec.stored_num_frames is set from frames.size().
  void add_jpeg_clip(const shard::ClipRecord& rec, const std::vector<std::string>& frames);
  // Encoding raw: num_frames*S*S*3 bytes, RGB HWC per frame (1..cap frames).
  void add_raw_clip(const shard::ClipRecord& rec, const uint8_t* frames, int num_frames);

  int64_t num_clips() const { return static_cast<int64_t>(records_.size()); }
  // Frame payload bytes written so far (what the shard-size bound is checked against).
  uint64_t payload_bytes() const { return payload_bytes_; }
  const std::vector<shard::ClipRecord>& records() const { return records_; }

  // Writes metadata, closes, fsyncs and renames; returns the shard's manifest entry with
  // `file` set to the final file name (no directory).
  ShardInfo finish();

  const std::filesystem::path& final_path() const { return final_path_; }
  std::filesystem::path temp_path() const { return final_path_.string() + ".partial"; }

 private:
  std::filesystem::path final_path_;
  PackParams params_;
  h5::Handle file_;
  h5::Handle frames_;  // jpeg_bytes or frames
  std::vector<shard::ClipRecord> records_;
  void check_frame_count(const shard::ClipRecord& rec, int frames) const;

  std::vector<uint64_t> offsets_{0};
  uint64_t raw_rows_ = 0;  // Raw frames written (rows of the [F, S, S, 3] dataset).
  uint64_t payload_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace hesp::data
