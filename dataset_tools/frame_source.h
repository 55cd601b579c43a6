#pragma once
// Turns one ClipSource into T stored frames: lists a frame folder in numeric order (or
// decodes a video through OpenCV's FFmpeg backend), picks the middle frame of each of T
// segments, resizes to S x S and encodes. Problems with the clip's data come back as a
// rejection (reason + detail), never as a crash.
#include <string>
#include <vector>

#include "clip_source.h"
#include "data/format/manifest.pb.h"

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
  std::vector<std::string> jpeg_frames;  // Encoding jpeg: T encoded frames.
  std::vector<uint8_t> raw_frames;       // Encoding raw: T*S*S*3 bytes.
  uint64_t payload_bytes() const;
};

// Decodes, samples, resizes and encodes one clip (thread-safe).
PackedClip pack_clip(const ClipSource& clip, const data::PackParams& params);

// Decodes one image file (JPEG through TurboJPEG, others through OpenCV) to RGB; throws
// UserError naming the file when it is unreadable or truncated. Exposed for tests.
std::vector<uint8_t> decode_image_file(const std::string& path, int* width, int* height);

// Resizes RGB (w x h) to S x S with the chosen policy.
std::vector<uint8_t> resize_rgb(const std::vector<uint8_t>& rgb, int w, int h, int S,
                                data::PackParams::Resize policy);

}  // namespace hesp::pack
