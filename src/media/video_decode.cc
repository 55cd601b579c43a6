#include "media/video_decode.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <opencv2/core.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "util/errors.h"

namespace hesp::pack {
namespace {

// FFmpeg prints its own warnings on stderr for every damaged packet; the caller reports
// what matters (one rejection per clip), so the library stays quiet.
void quiet_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

// The "file:" protocol always: a name with a colon ("a:b.mp4") is not a URL.
std::string file_url(const std::string& path) { return "file:" + path; }

struct FormatCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecCloser {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameCloser {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketCloser {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsCloser {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;

// Demuxers that yield still images or text, never a video.
bool is_still_or_text_demuxer(const std::string& name) {
  if (name == "image2" || name == "image2pipe" || name == "tty") return true;
  const std::string pipe = "_pipe";
  return name.size() > pipe.size() &&
         name.compare(name.size() - pipe.size(), pipe.size(), pipe) == 0;
}

// The first video stream that is not cover art and has a picture size, or -1.
int video_stream_index(const AVFormatContext* ctx) {
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* st = ctx->streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) continue;
    if (st->codecpar->width <= 0 || st->codecpar->height <= 0) continue;
    return static_cast<int>(i);
  }
  return -1;
}

// Opens `path` with the demuxer its bytes choose (the name is not consulted). Returns the
// open file with `*stream` its video stream, or an empty pointer with probe->kind and
// probe->why_not saying why not (kUnknown: not recognised, or recognised but broken;
// kOtherMedia: opened, but without a video).
FormatPtr open_by_content(const std::string& path, int* stream, VideoProbe* probe) {
  quiet_ffmpeg();
  probe->kind = VideoProbe::kUnknown;
  const std::string url = file_url(path);
  AVIOContext* pb = nullptr;
  int rc = avio_open(&pb, url.c_str(), AVIO_FLAG_READ);
  if (rc < 0) {
    probe->why_not = "cannot open: " + av_error(rc);
    return {};
  }
  const AVInputFormat* fmt = nullptr;
  // Empty name: the probe scores the bytes only, never the extension.
  rc = av_probe_input_buffer2(pb, &fmt, "", nullptr, 0, 0);
  avio_closep(&pb);
  if (rc < 0 || !fmt) {
    probe->why_not = "not a container FFmpeg recognises";
    return {};
  }
  probe->container = fmt->name;
  if (is_still_or_text_demuxer(fmt->name)) {
    probe->kind = VideoProbe::kOtherMedia;
    probe->why_not = std::string("a still image or text (FFmpeg reads it as ") + fmt->name + ")";
    return {};
  }
  AVFormatContext* raw = nullptr;
  rc = avformat_open_input(&raw, url.c_str(), fmt, nullptr);
  if (rc < 0) {
    probe->why_not =
        std::string("looks like ") + fmt->name + " but FFmpeg cannot open it: " + av_error(rc);
    return {};
  }
  FormatPtr ctx(raw);
  rc = avformat_find_stream_info(ctx.get(), nullptr);
  if (rc < 0) {
    probe->why_not = std::string("looks like ") + fmt->name +
                     " but FFmpeg cannot read its stream headers: " + av_error(rc);
    return {};
  }
  *stream = video_stream_index(ctx.get());
  if (*stream < 0) {
    probe->kind = VideoProbe::kOtherMedia;
    probe->why_not = std::string("a ") + fmt->name + " file without a video stream";
    return {};
  }
  probe->kind = VideoProbe::kVideo;
  probe->is_video = true;
  return ctx;
}

// Square pixels: the display size of a w x h picture with sample aspect ratio `sar`.
void display_size(int w, int h, AVRational sar, int* dw, int* dh) {
  *dw = w;
  *dh = h;
  if (sar.num <= 0 || sar.den <= 0 || sar.num == sar.den) return;
  const double r = av_q2d(sar);
  if (r > 1) {
    *dw = std::max(1, static_cast<int>(std::lround(w * r)));
  } else {
    *dh = std::max(1, static_cast<int>(std::lround(h / r)));
  }
}

// Applies `t` to the RGB image `in` (continuous CV_8UC3).
cv::Mat apply_transform(const cv::Mat& in, DisplayTransform t) {
  cv::Mat out;
  switch (t) {
    case DisplayTransform::kNone:
      return in;
    case DisplayTransform::kClockwise:
      cv::rotate(in, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case DisplayTransform::kCounterClockwise:
      cv::rotate(in, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    case DisplayTransform::kTranspose:
      cv::transpose(in, out);
      break;
    case DisplayTransform::kAntiTranspose: {
      cv::Mat tr;
      cv::transpose(in, tr);
      cv::flip(tr, out, -1);
      break;
    }
    case DisplayTransform::kRotate180:
      cv::flip(in, out, -1);
      break;
    case DisplayTransform::kHorizontalFlip:
      cv::flip(in, out, 1);
      break;
    case DisplayTransform::kVerticalFlip:
      cv::flip(in, out, 0);
      break;
  }
  return out;
}

}  // namespace

DisplayTransform display_transform(const int32_t* m) {
  if (!m) return DisplayTransform::kNone;
  // fftools/cmdutils.c get_rotation() and ffmpeg_filter.c (FFmpeg 5.1): the clockwise
  // angle, normalised to [0, 360), chooses transpose / hflip / vflip.
  double theta = -std::round(av_display_rotation_get(m));
  if (std::isnan(theta)) return DisplayTransform::kNone;
  theta -= 360 * std::floor(theta / 360 + 0.9 / 360);
  if (std::fabs(theta - 90) < 1.0) {
    return m[3] > 0 ? DisplayTransform::kTranspose : DisplayTransform::kClockwise;
  }
  if (std::fabs(theta - 180) < 1.0) {
    const bool h = m[0] < 0, v = m[4] < 0;
    if (h && v) return DisplayTransform::kRotate180;
    if (h) return DisplayTransform::kHorizontalFlip;
    if (v) return DisplayTransform::kVerticalFlip;
    return DisplayTransform::kNone;
  }
  if (std::fabs(theta - 270) < 1.0) {
    return m[3] < 0 ? DisplayTransform::kAntiTranspose : DisplayTransform::kCounterClockwise;
  }
  if (std::fabs(theta) < 1.0 && m[4] < 0) return DisplayTransform::kVerticalFlip;
  return DisplayTransform::kNone;
}

const char* display_transform_name(DisplayTransform t) {
  switch (t) {
    case DisplayTransform::kNone:
      return "none";
    case DisplayTransform::kClockwise:
      return "rotate 90 clockwise";
    case DisplayTransform::kCounterClockwise:
      return "rotate 90 counter-clockwise";
    case DisplayTransform::kTranspose:
      return "transpose";
    case DisplayTransform::kAntiTranspose:
      return "anti-transpose";
    case DisplayTransform::kRotate180:
      return "rotate 180";
    case DisplayTransform::kHorizontalFlip:
      return "horizontal flip";
    case DisplayTransform::kVerticalFlip:
      return "vertical flip";
  }
  return "?";
}

VideoProbe probe_video(const std::string& path) {
  VideoProbe p;
  // Text first: FFmpeg's `tty` demuxer would take a text file for an ANSI-art video.
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    p.kind = VideoProbe::kUnknown;
    p.why_not = std::string("cannot open: ") + std::strerror(errno);
    return p;
  }
  unsigned char head[4096];
  const size_t got = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  if (got == 0) {
    p.kind = VideoProbe::kUnknown;
    p.why_not = "an empty file";
    return p;
  }
  bool text = true;
  for (size_t i = 0; i < got && text; ++i) {
    const unsigned char c = head[i];
    text = c >= 0x20 || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  }
  if (text) {
    p.kind = VideoProbe::kText;
    p.why_not = "a text file";
    return p;
  }
  int stream = -1;
  open_by_content(path, &stream, &p);
  return p;
}

bool is_video_file(const std::string& path) { return probe_video(path).is_video; }

int decode_video(const std::string& path, const FrameSink& sink) {
  // --- open: demuxer by content, the video stream, its decoder ---
  int si = -1;
  VideoProbe probe;
  FormatPtr fmt = open_by_content(path, &si, &probe);
  if (!fmt) throw UserError(path + ": not a video (" + probe.why_not + ")");
  const std::string& container = probe.container;
  AVStream* st = fmt->streams[si];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) {
    throw UserError(path + ": no decoder for its " +
                    std::string(avcodec_get_name(st->codecpar->codec_id)) + " video");
  }
  std::unique_ptr<AVCodecContext, CodecCloser> dec(avcodec_alloc_context3(codec));
  if (!dec || avcodec_parameters_to_context(dec.get(), st->codecpar) < 0) {
    throw UserError(path + ": cannot set up the " + codec->name + " decoder");
  }
  dec->thread_count = 1;  // Clips are decoded in parallel by the caller.
  if (int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) {
    throw UserError(path + ": cannot open the " + codec->name + " decoder: " + av_error(rc));
  }
  const auto* stream_matrix = reinterpret_cast<const int32_t*>(
      av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr));

  // --- decode: every frame to display orientation, square pixels, RGB ---
  std::unique_ptr<AVPacket, PacketCloser> pkt(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameCloser> frame(av_frame_alloc());
  std::unique_ptr<SwsContext, SwsCloser> sws;
  bool have_transform = false;
  DisplayTransform transform = DisplayTransform::kNone;
  cv::Mat rgb;
  int n = 0;
  auto emit = [&]() {
    const int w = frame->width, h = frame->height;
    if (w <= 0 || h <= 0) return;
    if (!have_transform) {
      // The first frame's own display matrix (e.g. an H.264 SEI) wins over the container's.
      const AVFrameSideData* sd = av_frame_get_side_data(frame.get(), AV_FRAME_DATA_DISPLAYMATRIX);
      transform = display_transform(sd && sd->size >= 9 * sizeof(int32_t)
                                        ? reinterpret_cast<const int32_t*>(sd->data)
                                        : stream_matrix);
      have_transform = true;
    }
    int dw = w, dh = h;
    display_size(w, h, av_guess_sample_aspect_ratio(fmt.get(), st, frame.get()), &dw, &dh);
    // Bicubic as OpenCV's FFmpeg reader converted before (same colours for square pixels).
    sws.reset(sws_getCachedContext(sws.release(), w, h, static_cast<AVPixelFormat>(frame->format),
                                   dw, dh, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr,
                                   nullptr));
    if (!sws) throw UserError(path + ": cannot convert its frames to RGB");
    rgb.create(dh, dw, CV_8UC3);
    uint8_t* dst[4] = {rgb.data, nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(rgb.step[0]), 0, 0, 0};
    sws_scale(sws.get(), frame->data, frame->linesize, 0, h, dst, dst_stride);
    const cv::Mat shown = apply_transform(rgb, transform);
    const cv::Mat cont = shown.isContinuous() ? shown : shown.clone();
    sink(cont.data, cont.cols, cont.rows);
    ++n;
  };
  auto receive_all = [&]() {
    for (;;) {
      const int rc = avcodec_receive_frame(dec.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) return;  // A damaged frame: skipped, as ffmpeg does.
      emit();
      av_frame_unref(frame.get());
    }
  };
  for (;;) {
    const int rc = av_read_frame(fmt.get(), pkt.get());
    if (rc < 0) break;  // End of file, or the file breaks off here.
    if (pkt->stream_index == si) {
      // A packet the decoder refuses (damage) is skipped; the frames around it count.
      avcodec_send_packet(dec.get(), pkt.get());
      receive_all();
    }
    av_packet_unref(pkt.get());
  }
  avcodec_send_packet(dec.get(), nullptr);  // Drain the frames the decoder still holds.
  receive_all();
  if (n == 0) throw UserError(path + ": no decodable frame in this " + container + " video");
  return n;
}

}  // namespace hesp::pack
