#pragma once
// Names and per-clip record of the shard format (docs/datasets.md, "Shard format").
// The writer (hesp-pack) and every reader use these constants, never literals.
#include <cstdint>
#include <string>

namespace hesp::data::shard {

// Version 2 (written now): clips store a varying number of frames (every source frame,
// or at most the cap frames_per_clip), given per clip by stored_num_frames; frames are
// indexed by frame, not by (clip, T). Version 1 (read still): every clip stores exactly
// frames_per_clip frames.
inline constexpr int kFormatVersion = 2;
inline constexpr int kOldestReadableFormatVersion = 1;

// Root attributes.
inline constexpr const char* kAttrFormatVersion = "format_version";
inline constexpr const char* kAttrEncoding = "encoding";
inline constexpr const char* kAttrFramesPerClip = "frames_per_clip";  // v1: T; v2: cap, 0 = none
inline constexpr const char* kAttrSize = "size";
inline constexpr const char* kAttrNumClips = "num_clips";

// Per-clip datasets (length N).
inline constexpr const char* kClipId = "clip_id";
inline constexpr const char* kLabel = "label";
inline constexpr const char* kCompoundLabel = "compound_label";
inline constexpr const char* kSplit = "split";
inline constexpr const char* kSourceNumFrames = "source_num_frames";
inline constexpr const char* kStoredNumFrames = "stored_num_frames";  // v2 only

// Frames (F = total stored frames of the shard; v1: F = N*T).
inline constexpr const char* kJpegBytes = "jpeg_bytes";        // uint8 [total]
inline constexpr const char* kFrameOffsets = "frame_offsets";  // uint64 [F + 1]
inline constexpr const char* kRawFrames = "frames";            // v2: uint8 [F, S, S, 3]
                                                               // v1: uint8 [N, T, S, S, 3]

inline constexpr uint64_t kJpegChunkBytes = 1 << 20;

// Files beside the shards.
inline constexpr const char* kManifestFile = "manifest.pbtxt";
inline constexpr const char* kRejectedFile = "rejected.tsv";
// kind <TAB> clip_id <TAB> earlier clip_id <TAB> detail: label conflicts, leakage,
// byte-identical clips (written by hesp-pack beside rejected.tsv; readers ignore it).
inline constexpr const char* kIntegrityFile = "integrity.tsv";

// One clip's metadata, as stored in a shard.
struct ClipRecord {
  std::string clip_id;
  int32_t label = -1;
  std::string compound_label;
  std::string split;
  int32_t source_num_frames = 0;
  int32_t stored_num_frames = 0;

  bool operator==(const ClipRecord& o) const {
    return clip_id == o.clip_id && label == o.label && compound_label == o.compound_label &&
           split == o.split && source_num_frames == o.source_num_frames &&
           stored_num_frames == o.stored_num_frames;
  }
};

}  // namespace hesp::data::shard
