#include "media/frame_source.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "data/format/frame_sampling.h"
#include "data/format/jpeg_codec.h"
#include "media/image_decode.h"
#include "media/source_paths.h"
#include "media/video_decode.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

bool is_image_file(const stdfs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), ::tolower);
  return e == ".jpg" || e == ".jpeg" || e == ".jpe" || e == ".jfif" || e == ".png" || e == ".bmp";
}

PackedClip rejected(const std::string& reason, const std::string& detail) {
  PackedClip p;
  p.reject_reason = reason;
  p.reject_detail = detail;
  return p;
}

// Resizes one decoded frame and appends it to the clip in the params' encoding.
void store_frame(const std::vector<uint8_t>& rgb, int w, int h, const data::PackParams& params,
                 PackedClip* out) {
  const int S = params.size();
  const auto f = resize_rgb(rgb, w, h, S, params.resize());
  if (params.encoding() == data::PackParams::jpeg) {
    out->jpeg_frames.push_back(data::jpeg::encode_rgb(f.data(), S, S, params.jpeg_quality()));
  } else {
    out->raw_frames.insert(out->raw_frames.end(), f.begin(), f.end());
  }
  ++out->stored_frames;
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
  const auto idx = stored_frame_indices(n, params.frames_per_clip());
  PackedClip p;
  p.source_num_frames = n;
  // Every file is read once: hashed for the integrity report, decoded when stored.
  std::string frame_hashes;
  size_t next = 0;
  for (int i = 0; i < n; ++i) {
    const std::string bytes = fs::read_file(listing.files[i]);
    frame_hashes += hash::sha256_hex(bytes);
    if (next >= idx.size() || idx[next] != i) continue;
    ++next;
    const DecodedImage img = decode_image_bytes(bytes, listing.files[i]);
    store_frame(img.rgb, img.width, img.height, params, &p);
  }
  p.content_hash = hash::sha256_hex(frame_hashes);
  return p;
}

PackedClip pack_video(const ClipSource& clip, const data::PackParams& params) {
  std::error_code ec;
  if (!stdfs::is_regular_file(clip.path, ec)) {
    return rejected(reason::kMissingVideo, "not a regular file: " + clip.path);
  }
  const auto bytes = stdfs::file_size(clip.path, ec);
  if (ec) return rejected(reason::kMissingVideo, "cannot stat " + clip.path);
  if (bytes == 0) return rejected(reason::kUnreadableVideo, "zero-length file " + clip.path);
  // Frame counts in container headers are unreliable: decode every frame (as displayed:
  // video_decode.h), keeping only the resized copy so memory stays at S*S*3 per frame.
  std::vector<std::vector<uint8_t>> resized;
  std::vector<uint8_t> frame;
  decode_video(clip.path, [&](const uint8_t* rgb, int w, int h) {
    frame.assign(rgb, rgb + static_cast<size_t>(w) * h * 3);
    resized.push_back(resize_rgb(frame, w, h, params.size(), params.resize()));
  });
  const int n = static_cast<int>(resized.size());
  if (n == 0) return rejected(reason::kUnreadableVideo, "no decodable frame in " + clip.path);
  if (clip.expected_frames >= 0 && clip.expected_frames != n) {
    return rejected(reason::kFrameCountMismatch, "annotation says " +
                                                     std::to_string(clip.expected_frames) +
                                                     " frames, video has " + std::to_string(n));
  }
  PackedClip p;
  p.source_num_frames = n;
  const int S = params.size();
  for (int i : stored_frame_indices(n, params.frames_per_clip())) {
    store_frame(resized[i], S, S, params, &p);
  }
  p.content_hash = hash::sha256_file_hex(clip.path);
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
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (is_metadata_name(name) || !is_image_file(it->path()) || !it->is_regular_file(type_ec)) {
      continue;
    }
    const long long k = frame_number(name);
    all_numbered = all_numbered && k >= 0;
    numbered.emplace_back(k, it->path().string());
  }
  if (ec) {
    out.reject_reason = reason::kUnreadableImage;
    out.reject_detail = "cannot list " + dir + ": " + ec.message();
    return out;
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
  DecodedImage img = decode_image_bytes(fs::read_file(path), path);
  *width = img.width;
  *height = img.height;
  return std::move(img.rgb);
}

std::vector<int> stored_frame_indices(int num_source_frames, int cap) {
  if (cap <= 0 || num_source_frames <= cap) {
    std::vector<int> all(static_cast<size_t>(std::max(0, num_source_frames)));
    for (int i = 0; i < num_source_frames; ++i) all[static_cast<size_t>(i)] = i;
    return all;
  }
  return data::segment_middle_indices(num_source_frames, cap);
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
  } catch (const std::bad_alloc&) {
    return rejected(clip.is_video ? reason::kUnreadableVideo : reason::kUnreadableImage,
                    "out of memory decoding " + clip.path);
  } catch (const std::exception& e) {
    // Whatever a library throws on hostile input rejects this clip, never the run.
    return rejected(clip.is_video ? reason::kUnreadableVideo : reason::kUnreadableImage,
                    std::string("cannot read ") + clip.path + ": " + e.what());
  }
}

}  // namespace hesp::pack
