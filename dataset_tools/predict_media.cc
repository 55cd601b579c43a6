// Video and frame-folder decoding for `hesp predict` (src/cli/predict_command.cc): linked
// into the `hesp` executable when the dataset tools (OpenCV) are built, it registers a
// decoder that turns a clip into stored frames exactly as `hesp-pack convert` would
// (same frame sampling and resize policy, same display orientation), minus the JPEG step,
// and the packer's media rule (probe_video: a video is recognised by its bytes).
#include "frame_source.h"
#include "train/predictor.h"
#include "util/errors.h"
#include "video_decode.h"

namespace hesp::pack {
namespace {

train::RawClip decode_for_predict(const std::string& path, bool is_video,
                                  const data::PackParams& run_params) {
  ClipSource source;
  source.clip_id = path;
  source.path = path;
  source.is_video = is_video;
  data::PackParams params = run_params;
  params.set_encoding(data::PackParams::raw);
  const PackedClip packed = pack_clip(source, params);
  if (!packed.reject_reason.empty()) {
    throw UserError(path + ": " + packed.reject_reason + " (" + packed.reject_detail + ")");
  }
  train::RawClip out;
  out.frames = packed.stored_frames;  // All source frames, or up to the run's cap.
  out.size = params.size();
  out.rgb = packed.raw_frames;
  return out;
}

train::MediaProbe probe_for_predict(const std::string& path) {
  const VideoProbe p = probe_video(path);
  train::MediaProbe out;
  out.why = p.why_not;
  switch (p.kind) {
    case VideoProbe::kVideo:
      out.kind = train::MediaProbe::kVideo;
      break;
    case VideoProbe::kOtherMedia:
      out.kind = train::MediaProbe::kOtherMedia;
      break;
    case VideoProbe::kText:
      out.kind = train::MediaProbe::kText;
      break;
    case VideoProbe::kUnknown:
      out.kind = train::MediaProbe::kUnknown;
      break;
  }
  return out;
}

// Registered before main() runs: this file is part of the executable itself.
const bool kRegistered = [] {
  train::set_raw_clip_decoder(decode_for_predict);
  train::set_media_prober(probe_for_predict);
  return true;
}();

}  // namespace
}  // namespace hesp::pack
