#include "export.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/format/manifest_io.h"
#include "data/format/shard_reader.h"
#include "media/video_decode.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

std::string file_stem(std::string id) {
  std::replace(id.begin(), id.end(), '/', '_');
  return id;
}

cv::Mat bgr_frame(const std::vector<uint8_t>& rgb, int S, int k) {
  cv::Mat frame(S, S, CV_8UC3,
                const_cast<uint8_t*>(rgb.data() + static_cast<size_t>(k) * S * S * 3));
  cv::Mat bgr;
  cv::cvtColor(frame, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

void write_frames(const std::vector<uint8_t>& rgb, int S, int T, const stdfs::path& dir) {
  stdfs::create_directories(dir);
  for (int k = 0; k < T; ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d.png", k + 1);
    // Encoded in memory and written through fs: a full disk is an error naming the file
    // (cv::imwrite does not see a failed flush).
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", bgr_frame(rgb, S, k), png)) {
      throw UserError("cannot encode " + (dir / name).string() + " as PNG");
    }
    fs::atomic_write_file(dir / name,
                          std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
  }
}

void write_video(const std::vector<uint8_t>& rgb, int S, int T, const stdfs::path& file) {
  cv::VideoWriter w(file.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('F', 'F', 'V', '1'),
                    25.0, cv::Size(S, S));
  if (!w.isOpened()) throw UserError("cannot open " + file.string() + " for writing (FFV1)");
  for (int k = 0; k < T; ++k) w.write(bgr_frame(rgb, S, k));
  w.release();
  // OpenCV's writer reports no write error (a full disk): read the file back.
  int frames = 0;
  try {
    frames = decode_video(file.string(), [](const uint8_t*, int, int) {});
  } catch (const UserError&) {
    frames = 0;
  }
  if (frames != T) {
    std::error_code ec;
    stdfs::remove(file, ec);
    throw UserError("cannot write " + file.string() + ": it reads back with " +
                    std::to_string(frames) + " of " + std::to_string(T) + " frames (disk full?)");
  }
}

}  // namespace

int run_export(const ExportOptions& o) {
  if (o.as != "frames" && o.as != "video") {
    throw ConfigError("--as must be frames or video (got " + o.as + ")");
  }
  const stdfs::path dir(o.dir), out(o.out);
  const data::Manifest m = data::read_manifest(dir);
  stdfs::create_directories(out);
  std::string list, ids;
  int written = 0;
  for (const auto& s : m.shards()) {
    data::ShardReader reader(dir / s.file());
    const int S = reader.header().size;
    for (size_t i = 0; i < reader.records().size(); ++i) {
      // What the clip stores (format 2: up to the cap, or every source frame).
      const int T = reader.stored_frames(static_cast<int64_t>(i));
      const auto& r = reader.records()[i];
      if (!o.split.empty() && r.split != o.split) continue;
      if (o.max_clips > 0 && written >= o.max_clips) break;
      const auto rgb = reader.read_rgb_frames(static_cast<int64_t>(i));
      const std::string name = file_stem(r.clip_id) + (o.as == "video" ? ".avi" : "");
      if (o.as == "video") {
        write_video(rgb, S, T, out / name);
      } else {
        write_frames(rgb, S, T, out / name);
      }
      list += name + "\n";
      ids += name + "\t" + r.clip_id + "\n";
      ++written;
    }
  }
  if (written == 0) {
    throw UserError(dir.string() + " has no clip" +
                    (o.split.empty() ? std::string() : " of split " + o.split) + " to export");
  }
  fs::atomic_write_file(out / "clips.txt", list);
  fs::atomic_write_file(out / "clip_ids.tsv", ids);
  std::printf("exported %d clip(s) as %s to %s\n", written, o.as.c_str(), out.c_str());
  return 0;
}

}  // namespace hesp::pack
