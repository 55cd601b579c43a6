#pragma once
// Reading new clips for `hesp predict` (predict_command.cc) by the packer's media rule
// (src/media/: a video is recognised by its bytes, decoded with its display orientation,
// sampled and resized exactly as `hesp-pack convert` packs it, minus the JPEG step;
// docs/predict.md, "Inputs"). Built without the media library (HESP_BUILD_DATASET_TOOLS=OFF)
// hesp recognises text files only and reads packed datasets, not videos or frame folders.
#include <cstdint>
#include <string>
#include <vector>

#include "data/format/manifest.pb.h"

namespace hesp::cli {

// What a file holds, judged by its bytes; the file name is not looked at.
struct MediaProbe {
  enum Kind { kVideo, kOtherMedia, kText, kUnknown };
  Kind kind = kUnknown;
  std::string why;  // When not a video: one phrase ("a wav file without a video stream").
};
MediaProbe probe_media(const std::string& path);

// A clip decoded for prediction: T_stored raw frames of side `size`, RGB uint8
// [frames, size, size, 3] in `rgb`.
struct RawClip {
  int frames = 0;  // T_stored.
  int size = 0;    // Stored side.
  std::vector<uint8_t> rgb;
};

// Decodes a video file (`is_video`) or a frame folder as the run's pack `params` say.
// Throws UserError naming the path: a clip the packer would reject (with its reason), or
// any clip in a build without the media library.
RawClip decode_for_predict(const std::string& path, bool is_video, const data::PackParams& params);

}  // namespace hesp::cli
