#include "cli/predict_media.h"

#include "util/errors.h"

#if HESP_HAVE_MEDIA
#include "media/frame_source.h"
#include "media/video_decode.h"
#else
#include <fstream>
#endif

namespace hesp::cli {
#if HESP_HAVE_MEDIA

MediaProbe probe_media(const std::string& path) {
  const pack::VideoProbe p = pack::probe_video(path);
  MediaProbe out;
  out.why = p.why_not;
  switch (p.kind) {
    case pack::VideoProbe::kVideo:
      out.kind = MediaProbe::kVideo;
      break;
    case pack::VideoProbe::kOtherMedia:
      out.kind = MediaProbe::kOtherMedia;
      break;
    case pack::VideoProbe::kText:
      out.kind = MediaProbe::kText;
      break;
    case pack::VideoProbe::kUnknown:
      out.kind = MediaProbe::kUnknown;
      break;
  }
  return out;
}

RawClip decode_for_predict(const std::string& path, bool is_video,
                           const data::PackParams& run_params) {
  pack::ClipSource source;
  source.clip_id = path;
  source.path = path;
  source.is_video = is_video;
  data::PackParams params = run_params;
  params.set_encoding(data::PackParams::raw);
  const pack::PackedClip packed = pack::pack_clip(source, params);
  if (!packed.reject_reason.empty()) {
    throw UserError(path + ": " + packed.reject_reason + " (" + packed.reject_detail + ")");
  }
  RawClip out;
  out.frames = packed.stored_frames;  // All source frames, or up to the run's cap.
  out.size = params.size();
  out.rgb = packed.raw_frames;
  return out;
}

#else  // Built without the media library.

namespace {

// True when the file's first 4 KiB hold no control characters but whitespace.
bool looks_like_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char buf[4096];
  in.read(buf, sizeof(buf));
  const std::streamsize n = in.gcount();
  if (n <= 0) return false;
  for (std::streamsize i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(buf[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

}  // namespace

MediaProbe probe_media(const std::string& path) {
  MediaProbe m;
  m.kind = looks_like_text(path) ? MediaProbe::kText : MediaProbe::kUnknown;
  m.why = m.kind == MediaProbe::kText
              ? "a text file"
              : "not a text file, and this hesp was built without the dataset tools "
                "(HESP_BUILD_DATASET_TOOLS=OFF), so it recognises no video";
  return m;
}

RawClip decode_for_predict(const std::string& path, bool, const data::PackParams&) {
  throw UserError(path +
                  ": this hesp was built without OpenCV (HESP_BUILD_DATASET_TOOLS=OFF)"
                  ", so it reads packed datasets only, not videos or frame folders");
}

#endif

}  // namespace hesp::cli
