#pragma once
// Video files through FFmpeg's own libraries (libavformat, libavcodec, libswscale), the one
// decoding path of hesp-pack (every importer) and `hesp predict` (docs/datasets.md, "Media").
//
// Media rule. A file is a video when FFmpeg recognises its container from the bytes (the
// file name is not looked at) and the container holds a video stream that is not a still
// image (image2/…_pipe demuxers, text `tty`, cover art). Each decoded frame is returned as it
// is displayed (what ffmpeg, ffplay and common players show):
//   1. non-square sample aspect ratio (SAR) becomes square pixels by stretching the shorter
//      display axis (SAR > 1: width * SAR; SAR < 1: height / SAR; nothing is dropped);
//   2. the display matrix (container side data, e.g. MP4 `tkhd`, or the first frame's side
//      data) is applied exactly as the ffmpeg command-line tool autorotates: 90° and 270°
//      (with or without a flip), 180°, horizontal and vertical flips. Angles that are not a
//      multiple of 90° (±1°) are ignored (the frame is kept as coded).
// Debian's OpenCV 4.6 turns 90°/270° the wrong way (opencv/opencv#22088), hence this file.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hesp::pack {

// What probe_video saw in a file.
struct VideoProbe {
  enum Kind {
    kVideo,       // A container FFmpeg recognises, with a video stream.
    kOtherMedia,  // Opened by FFmpeg, but audio only, a still image, subtitles, ...
    kText,        // No control bytes but tab/newlines in the first 4 KiB (e.g. a list).
    kUnknown,     // Empty, unreadable, bytes FFmpeg does not recognise, or a container
                  // FFmpeg recognises but cannot open (damaged).
  };
  Kind kind = kUnknown;
  bool is_video = false;  // kind == kVideo.
  std::string container;  // FFmpeg's demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "avi", ...).
  std::string why_not;    // When !is_video: one phrase, e.g. "not a container FFmpeg knows".
};

// Recognises a video by content (thread-safe; opens the file and reads its stream headers).
VideoProbe probe_video(const std::string& path);
// probe_video(path).is_video: THE test for "is this file a video" (packer and predict).
bool is_video_file(const std::string& path);

// How the frames are turned for display, from a display matrix (9 int32, 16.16 fixed
// point, FFmpeg's layout): the ffmpeg tool's autorotation choice.
enum class DisplayTransform {
  kNone,
  kClockwise,         // transpose=clock
  kCounterClockwise,  // transpose=cclock
  kTranspose,         // transpose=cclock_flip (90° with a flip)
  kAntiTranspose,     // transpose=clock_flip (270° with a flip)
  kRotate180,         // hflip + vflip
  kHorizontalFlip,    // hflip
  kVerticalFlip,      // vflip
};
DisplayTransform display_transform(const int32_t* matrix);  // nullptr: kNone.
const char* display_transform_name(DisplayTransform t);

// Decodes every frame of a video (in presentation order) and hands each to `frame` as RGB
// HWC (width * height * 3 bytes, display orientation, square pixels; see the rule above).
// Returns the number of frames. Throws UserError naming the file when it is not a video
// (probe_video), cannot be opened, has no decoder, or decodes no frame; a stream that breaks
// after some frames ends there (the frames before it count).
using FrameSink = std::function<void(const uint8_t* rgb, int width, int height)>;
int decode_video(const std::string& path, const FrameSink& frame);

}  // namespace hesp::pack
