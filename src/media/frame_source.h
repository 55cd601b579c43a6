#pragma once
// Turns one ClipSource into its stored frames: lists a frame folder in numeric order
// (file-system litter skipped) or decodes a video through FFmpeg's libraries as players
// show it (video_decode.h: display rotation and flips applied, square pixels), keeps every source
// frame (or, with a cap T = PackParams::frames_per_clip > 0 and more than T source frames, the
// middle frame of each of T segments), resizes to S x S and encodes. Problems with the clip's data
// come back as a rejection (reason + detail), never as a crash.
#include <string>
#include <vector>

#include "data/format/manifest.pb.h"
#include "media/clip_source.h"

namespace hesp::pack {

// Frame files of a folder ordered by the number in their names (1, 2, ..., 10), with
// the rejection a gap or an empty folder causes.
struct FrameListing {
  std::vector<std::string> files;  // Full paths, time order.
  std::string reject_reason;
  std::string reject_detail;
};
FrameListing list_frame_folder(const std::string& dir);

// The number a frame file name carries: the last run of digits in its stem, or -1.
long long frame_number(const std::string& file_name);

struct PackedClip {
  std::string reject_reason;  // Empty when packed.
  std::string reject_detail;
  int source_num_frames = 0;
  int stored_frames = 0;                 // min(source frames, cap), or all without a cap.
  std::vector<std::string> jpeg_frames;  // Encoding jpeg: stored_frames encoded frames.
  std::vector<uint8_t> raw_frames;       // Encoding raw: stored_frames*S*S*3 bytes.
  // sha256 over the source bytes (every frame file in time order, or the video file):
  // byte-identical clips under different ids share it (integrity report).
  std::string content_hash;
  uint64_t payload_bytes() const;
};

// Source frame indices a clip stores: all n, or with cap T < n the segment middles.
std::vector<int> stored_frame_indices(int num_source_frames, int cap);

// Decodes, samples, resizes and encodes one clip (thread-safe).
PackedClip pack_clip(const ClipSource& clip, const data::PackParams& params);

// Decodes one image file to RGB (image_decode.h); throws UserError naming the file and the
// kind of damage when it is unreadable. Exposed for tests.
std::vector<uint8_t> decode_image_file(const std::string& path, int* width, int* height);

// Resizes RGB (w x h) to S x S with the chosen policy.
std::vector<uint8_t> resize_rgb(const std::vector<uint8_t>& rgb, int w, int h, int S,
                                data::PackParams::Resize policy);

}  // namespace hesp::pack
