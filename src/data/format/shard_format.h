#pragma once
// Names and per-clip record of the shard format (docs/datasets.md, "Shard format").
// The writer (hesp-pack) and every reader use these constants, never literals.
#include <cstdint>
#include <string>

namespace hesp::data::shard {

inline constexpr int kFormatVersion = 1;

// Root attributes.
inline constexpr const char* kAttrFormatVersion = "format_version";
inline constexpr const char* kAttrEncoding = "encoding";
inline constexpr const char* kAttrFramesPerClip = "frames_per_clip";
inline constexpr const char* kAttrSize = "size";
inline constexpr const char* kAttrNumClips = "num_clips";

// Per-clip datasets (length N).
inline constexpr const char* kClipId = "clip_id";
inline constexpr const char* kLabel = "label";
inline constexpr const char* kCompoundLabel = "compound_label";
inline constexpr const char* kSplit = "split";
inline constexpr const char* kSourceNumFrames = "source_num_frames";

// Frames.
inline constexpr const char* kJpegBytes = "jpeg_bytes";        // uint8 [total]
inline constexpr const char* kFrameOffsets = "frame_offsets";  // uint64 [N*T + 1]
inline constexpr const char* kRawFrames = "frames";            // uint8 [N, T, S, S, 3]

inline constexpr uint64_t kJpegChunkBytes = 1 << 20;

// Files beside the shards.
inline constexpr const char* kManifestFile = "manifest.pbtxt";
inline constexpr const char* kRejectedFile = "rejected.tsv";

// One clip's metadata, as stored in a shard.
struct ClipRecord {
  std::string clip_id;
  int32_t label = -1;
  std::string compound_label;
  std::string split;
  int32_t source_num_frames = 0;

  bool operator==(const ClipRecord& o) const {
    return clip_id == o.clip_id && label == o.label && compound_label == o.compound_label &&
           split == o.split && source_num_frames == o.source_num_frames;
  }
};

}  // namespace hesp::data::shard
