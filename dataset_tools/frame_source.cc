#include "frame_source.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "data/format/frame_sampling.h"
#include "data/format/jpeg_codec.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

bool is_image_file(const stdfs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".jpg" || e == ".jpeg" || e == ".png" || e == ".bmp";
}

PackedClip rejected(const std::string& reason, const std::string& detail) {
  PackedClip p;
  p.reject_reason = reason;
  p.reject_detail = detail;
  return p;
}

// Encodes the T sampled frames (each S x S RGB) as the params ask.
void store_frames(const std::vector<std::vector<uint8_t>>& frames, const data::PackParams& params,
                  PackedClip* out) {
  const int S = params.size();
  if (params.encoding() == data::PackParams::jpeg) {
    for (const auto& f : frames) {
      out->jpeg_frames.push_back(data::jpeg::encode_rgb(f.data(), S, S, params.jpeg_quality()));
    }
  } else {
    for (const auto& f : frames) out->raw_frames.insert(out->raw_frames.end(), f.begin(), f.end());
  }
}

PackedClip pack_folder(const ClipSource& clip, const data::PackParams& params) {
  FrameListing listing = list_frame_folder(clip.path);
  if (!listing.reject_reason.empty()) {
    PackedClip p = rejected(listing.reject_reason, listing.reject_detail);
    p.source_num_frames = static_cast<int>(listing.files.size());
    return p;
  }
  const int n = static_cast<int>(listing.files.size());
  if (clip.expected_frames >= 0 && clip.expected_frames != n) {
    return rejected(reason::kFrameCountMismatch, "annotation says " +
                                                     std::to_string(clip.expected_frames) +
                                                     " frames, folder has " + std::to_string(n));
  }
  const auto idx = data::segment_middle_indices(n, params.frames_per_clip());
  std::vector<std::vector<uint8_t>> frames;
  int last = -1;
  for (int i : idx) {
    if (i == last) {  // A short clip repeats its last frame: no second decode.
      frames.push_back(frames.back());
      continue;
    }
    last = i;
    int w = 0, h = 0;
    std::vector<uint8_t> rgb;
    try {
      rgb = decode_image_file(listing.files[i], &w, &h);
    } catch (const UserError& e) {
      return rejected(reason::kUnreadableImage, e.what());
    }
    frames.push_back(resize_rgb(rgb, w, h, params.size(), params.resize()));
  }
  PackedClip p;
  p.source_num_frames = n;
  store_frames(frames, params, &p);
  return p;
}

PackedClip pack_video(const ClipSource& clip, const data::PackParams& params) {
  std::error_code ec;
  const auto bytes = stdfs::file_size(clip.path, ec);
  if (ec) return rejected(reason::kMissingVideo, "cannot stat " + clip.path);
  if (bytes == 0) return rejected(reason::kUnreadableVideo, "zero-length file " + clip.path);
  cv::VideoCapture cap(clip.path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) cap.open(clip.path, cv::CAP_ANY);
  if (!cap.isOpened()) return rejected(reason::kUnreadableVideo, "cannot open video " + clip.path);
  // Frame counts in container headers are unreliable: decode every frame, keeping only
  // the resized copy so memory stays at S*S*3 per source frame.
  std::vector<std::vector<uint8_t>> resized;
  cv::Mat bgr, rgb;
  while (cap.read(bgr)) {
    if (bgr.empty()) break;
    cv::cvtColor(bgr, rgb, bgr.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
    std::vector<uint8_t> v(rgb.data, rgb.data + rgb.total() * 3);
    resized.push_back(resize_rgb(v, rgb.cols, rgb.rows, params.size(), params.resize()));
  }
  const int n = static_cast<int>(resized.size());
  if (n == 0) return rejected(reason::kUnreadableVideo, "no decodable frame in " + clip.path);
  if (clip.expected_frames >= 0 && clip.expected_frames != n) {
    return rejected(reason::kFrameCountMismatch, "annotation says " +
                                                     std::to_string(clip.expected_frames) +
                                                     " frames, video has " + std::to_string(n));
  }
  std::vector<std::vector<uint8_t>> frames;
  for (int i : data::segment_middle_indices(n, params.frames_per_clip())) {
    frames.push_back(resized[i]);
  }
  PackedClip p;
  p.source_num_frames = n;
  store_frames(frames, params, &p);
  return p;
}

}  // namespace

long long frame_number(const std::string& file_name) {
  const std::string stem = stdfs::path(file_name).stem().string();
  int end = static_cast<int>(stem.size()) - 1;
  while (end >= 0 && !std::isdigit(static_cast<unsigned char>(stem[end]))) --end;
  if (end < 0) return -1;
  int begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(stem[begin - 1]))) --begin;
  const std::string digits = stem.substr(begin, std::min(end - begin + 1, 15));
  return std::stoll(digits);
}

FrameListing list_frame_folder(const std::string& dir) {
  FrameListing out;
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    out.reject_reason = reason::kMissingFolder;
    out.reject_detail = "no folder " + dir;
    return out;
  }
  std::vector<std::pair<long long, std::string>> numbered;
  bool all_numbered = true;
  for (const auto& e : stdfs::directory_iterator(dir)) {
    if (!e.is_regular_file() || !is_image_file(e.path())) continue;
    const long long k = frame_number(e.path().filename().string());
    all_numbered = all_numbered && k >= 0;
    numbered.emplace_back(k, e.path().string());
  }
  if (numbered.empty()) {
    out.reject_reason = reason::kEmptyFolder;
    out.reject_detail = "no image files in " + dir;
    return out;
  }
  if (all_numbered) {
    std::sort(numbered.begin(), numbered.end());
    for (size_t i = 1; i < numbered.size(); ++i) {
      if (numbered[i].first != numbered[i - 1].first + 1) {
        out.reject_reason = reason::kFrameGap;
        out.reject_detail = "frame numbers jump from " + std::to_string(numbered[i - 1].first) +
                            " to " + std::to_string(numbered[i].first) + " in " + dir;
        break;
      }
    }
  } else {
    // Names without numbers: plain name order is the only order there is.
    std::sort(numbered.begin(), numbered.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
  }
  for (auto& [k, path] : numbered) out.files.push_back(std::move(path));
  return out;
}

std::vector<uint8_t> decode_image_file(const std::string& path, int* width, int* height) {
  const std::string bytes = fs::read_file(path);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.empty()) throw UserError("empty image file " + path);
  if (data::jpeg::looks_like_jpeg(data, bytes.size())) {
    auto img = data::jpeg::decode_rgb(data, bytes.size(), path);
    *width = img.width;
    *height = img.height;
    return std::move(img.rgb);
  }
  // PNG and others: OpenCV. libpng reports a truncated file as a decode failure.
  cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
  if (bgr.empty()) throw UserError("unreadable or truncated image " + path);
  // A PNG must end with its IEND chunk; libpng may return a partial image otherwise.
  static const unsigned char kIend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  if (bytes.size() >= 8 && data[0] == 0x89 && data[1] == 'P' &&
      std::memcmp(data + bytes.size() - 8, kIend, 8) != 0) {
    throw UserError("truncated PNG " + path);
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  *width = rgb.cols;
  *height = rgb.rows;
  return std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}

std::vector<uint8_t> resize_rgb(const std::vector<uint8_t>& rgb, int w, int h, int S,
                                data::PackParams::Resize policy) {
  if (w == S && h == S) return rgb;
  cv::Mat src(h, w, CV_8UC3, const_cast<uint8_t*>(rgb.data()));
  cv::Mat dst;
  if (policy == data::PackParams::center_crop) {
    const double scale = static_cast<double>(S) / std::min(w, h);
    const int nw = std::max(S, static_cast<int>(std::lround(w * scale)));
    const int nh = std::max(S, static_cast<int>(std::lround(h * scale)));
    cv::Mat scaled;
    cv::resize(src, scaled, cv::Size(nw, nh), 0, 0, cv::INTER_AREA);
    dst = scaled(cv::Rect((nw - S) / 2, (nh - S) / 2, S, S)).clone();
  } else {
    const int interp = (w > S || h > S) ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(src, dst, cv::Size(S, S), 0, 0, interp);
  }
  return std::vector<uint8_t>(dst.data, dst.data + static_cast<size_t>(S) * S * 3);
}

uint64_t PackedClip::payload_bytes() const {
  uint64_t n = raw_frames.size();
  for (const auto& f : jpeg_frames) n += f.size();
  return n;
}

PackedClip pack_clip(const ClipSource& clip, const data::PackParams& params) {
  if (!clip.reject_reason.empty()) return rejected(clip.reject_reason, clip.reject_detail);
  try {
    return clip.is_video ? pack_video(clip, params) : pack_folder(clip, params);
  } catch (const UserError& e) {
    return rejected(clip.is_video ? reason::kUnreadableVideo : reason::kUnreadableImage, e.what());
  } catch (const cv::Exception& e) {
    return rejected(clip.is_video ? reason::kUnreadableVideo : reason::kUnreadableImage,
                    std::string("OpenCV: ") + e.what());
  } catch (const std::filesystem::filesystem_error& e) {
    // E.g. a folder without read permission: the clip's data cannot be read.
    return rejected(clip.is_video ? reason::kUnreadableVideo : reason::kUnreadableImage, e.what());
  }
}

}  // namespace hesp::pack
