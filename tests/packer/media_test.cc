// Media rule (src/media/video_decode.h) on videos made by the real ffmpeg: every frame is
// stored as ffmpeg and players show it (display-matrix rotation and flips, square pixels),
// and a video is recognised by its bytes, not its name. The packer (pack_clip, used by every
// importer) and `hesp predict` (predict_media.cc) share this one path. Skipped, saying why,
// only when the ffmpeg tool is not installed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "importers.h"
#include "media/clip_source.h"
#include "media/frame_source.h"
#include "media/video_decode.h"
#include "packer_test_util.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

bool have_ffmpeg() { return run("command -v ffmpeg").code == 0; }

#define REQUIRE_FFMPEG()                                                                   \
  if (!have_ffmpeg()) {                                                                    \
    GTEST_SKIP() << "the ffmpeg tool is not installed (apt-get install ffmpeg; listed in " \
                    "launch/packages.txt): the test videos are made with it";              \
  }

// ffmpeg -loglevel error ... (the command must succeed).
void ffmpeg(const std::string& args) {
  const auto r = run("timeout 60 ffmpeg -y -loglevel error " + args);
  ASSERT_EQ(r.code, 0) << "ffmpeg " << args << "\n" << r.output;
}

// Coded picture 64x32 in four quadrants: red top-left, green top-right, blue bottom-left,
// white bottom-right (every one of the 8 orientations gives another layout).
const char* kQuadrants =
    "-f lavfi -i \"color=c=red:s=32x16:d=0.5:r=10[a];color=c=lime:s=32x16:d=0.5:r=10[b];"
    "color=c=blue:s=32x16:d=0.5:r=10[c];color=c=white:s=32x16:d=0.5:r=10[d];"
    "[a][b]hstack[t];[c][d]hstack[u];[t][u]vstack\"";

struct Picture {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
};

char colour(const uint8_t* p) {
  const bool r = p[0] > 128, g = p[1] > 128, b = p[2] > 128;
  if (r && g && b) return 'W';
  if (r && !g && !b) return 'R';
  if (g && !r && !b) return 'G';
  if (b && !r && !g) return 'B';
  return '?';
}

// Colours at the centres of the four quadrants: top-left, top-right, bottom-left, bottom-right.
std::string layout(const Picture& p) {
  auto at = [&](int x, int y) { return colour(p.rgb.data() + (size_t(y) * p.w + x) * 3); };
  const int x0 = p.w / 4, x1 = 3 * p.w / 4, y0 = p.h / 4, y1 = 3 * p.h / 4;
  return {at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1)};
}

// The first frame as hesp decodes it (the one path of packer and predict).
Picture hesp_first_frame(const stdfs::path& video, int* frames = nullptr) {
  Picture p;
  const int n = decode_video(video.string(), [&](const uint8_t* rgb, int w, int h) {
    if (!p.rgb.empty()) return;
    p.w = w;
    p.h = h;
    p.rgb.assign(rgb, rgb + size_t(w) * h * 3);
  });
  if (frames) *frames = n;
  return p;
}

// The first frame as the ffmpeg tool shows it (autorotation on, its default), w x h.
Picture ffmpeg_first_frame(const stdfs::path& video, int w, int h) {
  const auto raw = video.string() + ".rgb";
  ffmpeg("-i " + q(video) + " -frames:v 1 -f rawvideo -pix_fmt rgb24 " + q(raw));
  Picture p;
  p.w = w;
  p.h = h;
  const std::string bytes = fs::read_file(raw);
  p.rgb.assign(bytes.begin(), bytes.end());
  EXPECT_EQ(p.rgb.size(), size_t(w) * h * 3)
      << "ffmpeg's picture of " << video << " is not " << w << "x" << h;
  p.rgb.resize(size_t(w) * h * 3);
  return p;
}

// Writes the display matrix [a b 0; c d 0; 0 0 1] (16.16 fixed point) into the MP4's `tkhd`
// box, as opencv/opencv#26876 does by hand: FFmpeg 5.1's tool can set a rotation
// (-metadata:s:v rotate=R) but not a flip.
void set_tkhd_matrix(const stdfs::path& mp4, int a, int b, int c, int d) {
  std::string bytes = fs::read_file(mp4);
  const size_t at = bytes.find("tkhd");
  ASSERT_NE(at, std::string::npos);
  const size_t box = at - 4;
  ASSERT_EQ(bytes[box + 8], 0) << "tkhd version 1 not handled";
  const int32_t m[9] = {a * 65536, b * 65536, 0, c * 65536, d * 65536, 0, 0, 0, 1 << 30};
  for (int i = 0; i < 9; ++i) {
    const uint32_t v = static_cast<uint32_t>(m[i]);
    for (int k = 0; k < 4; ++k) bytes[box + 48 + 4 * i + k] = char((v >> (24 - 8 * k)) & 0xFF);
  }
  fs::atomic_write_file(mp4, bytes);
}

TEST(MediaOrientation, EveryRotationAndFlipAsFfmpegShowsIt) {
  REQUIRE_FFMPEG();
  const auto dir = scratch();
  const auto coded = dir / "coded.mp4";
  ffmpeg(std::string(kQuadrants) + " -c:v mpeg4 -q:v 2 -pix_fmt yuv420p " + q(coded));
  struct Case {
    std::string name;
    int rotate;         // -metadata rotate=R, or -1: set the matrix below.
    int a, b, c, d;     // tkhd matrix when rotate < 0.
    std::string shown;  // What players show: TL TR BL BR.
    bool portrait;
  };
  const std::vector<Case> cases = {
      {"rotate0", 0, 0, 0, 0, 0, "RGBW", false},
      {"rotate90", 90, 0, 0, 0, 0, "GWRB", true},  // OpenCV 4.6 gave "BRWG" (upside down).
      {"rotate180", 180, 0, 0, 0, 0, "WBGR", false},
      {"rotate270", 270, 0, 0, 0, 0, "BRWG", true},
      {"hflip", -1, -1, 0, 0, 1, "GRWB", false},
      {"vflip", -1, 1, 0, 0, -1, "BWRG", false},
      {"transpose", -1, 0, 1, 1, 0, "RBGW", true},
      {"antitranspose", -1, 0, -1, -1, 0, "WGBR", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto video = dir / (c.name + ".mp4");
    if (c.rotate >= 0) {
      ffmpeg("-i " + q(coded) + " -c copy -metadata:s:v:0 rotate=" + std::to_string(c.rotate) +
             " " + q(video));
    } else {
      stdfs::copy_file(coded, video, stdfs::copy_options::overwrite_existing);
      set_tkhd_matrix(video, c.a, c.b, c.c, c.d);
    }
    int frames = 0;
    const Picture mine = hesp_first_frame(video, &frames);
    EXPECT_EQ(frames, 5);
    EXPECT_EQ(mine.w, c.portrait ? 32 : 64);
    EXPECT_EQ(mine.h, c.portrait ? 64 : 32);
    const Picture theirs = ffmpeg_first_frame(video, mine.w, mine.h);
    EXPECT_EQ(layout(theirs), c.shown) << "ffmpeg itself";
    EXPECT_EQ(layout(mine), c.shown) << "hesp";
    // Pixel by pixel: the same picture (only chroma rounding at the edges may differ).
    double diff = 0;
    for (size_t i = 0; i < mine.rgb.size(); ++i) diff += std::abs(mine.rgb[i] - theirs.rgb[i]);
    EXPECT_LT(diff / double(mine.rgb.size()), 8.0);
  }
}

TEST(MediaOrientation, PackedFramesAreUprightThroughPackClip) {
  REQUIRE_FFMPEG();
  const auto dir = scratch();
  const auto coded = dir / "coded.mp4", video = dir / "portrait.mp4";
  ffmpeg(std::string(kQuadrants) + " -c:v mpeg4 -q:v 2 -pix_fmt yuv420p " + q(coded));
  ffmpeg("-i " + q(coded) + " -c copy -metadata:s:v:0 rotate=90 " + q(video));
  ClipSource clip;
  clip.clip_id = "portrait";
  clip.path = video.string();
  clip.is_video = true;
  data::PackParams params;
  params.set_size(16);
  params.set_frames_per_clip(2);
  params.set_encoding(data::PackParams::raw);
  const PackedClip p = pack_clip(clip, params);
  ASSERT_TRUE(p.reject_reason.empty()) << p.reject_reason << ": " << p.reject_detail;
  ASSERT_EQ(p.stored_frames, 2);
  for (int f = 0; f < 2; ++f) {
    Picture stored;
    stored.w = stored.h = 16;
    stored.rgb.assign(p.raw_frames.begin() + f * 16 * 16 * 3,
                      p.raw_frames.begin() + (f + 1) * 16 * 16 * 3);
    EXPECT_EQ(layout(stored), "GWRB") << "stored frame " << f;
  }
}

// Coded 32x32 in four vertical stripes (red, green, blue, white, 8 columns each).
std::string stripes(const std::string& sar) {
  return "-f lavfi -i \"color=c=red:s=8x32:d=0.5:r=10[a];color=c=lime:s=8x32:d=0.5:r=10[b];"
         "color=c=blue:s=8x32:d=0.5:r=10[c];color=c=white:s=8x32:d=0.5:r=10[d];"
         "[a][b][c][d]hstack=inputs=4,setsar=" +
         sar + "\"";
}

TEST(MediaOrientation, NonSquarePixelsBecomeSquare) {
  REQUIRE_FFMPEG();
  const auto dir = scratch();
  const auto wide = dir / "sar2.mp4", tall = dir / "sar1_2.mp4";
  ffmpeg(stripes("2") + " -c:v mpeg4 -q:v 2 -pix_fmt yuv420p " + q(wide));
  ffmpeg(stripes("1/2") + " -c:v mpeg4 -q:v 2 -pix_fmt yuv420p " + q(tall));
  // SAR 2:1: shown 64x32 (each stripe 16 wide); SAR 1:2: shown 32x64.
  Picture p = hesp_first_frame(wide);
  EXPECT_EQ(p.w, 64);
  EXPECT_EQ(p.h, 32);
  std::string row;
  for (int x = 4; x < 64; x += 16) row += colour(p.rgb.data() + (size_t(16) * 64 + x) * 3);
  EXPECT_EQ(row, "RGBW");
  p = hesp_first_frame(tall);
  EXPECT_EQ(p.w, 32);
  EXPECT_EQ(p.h, 64);
  row.clear();
  for (int x = 4; x < 32; x += 8) row += colour(p.rgb.data() + (size_t(32) * 32 + x) * 3);
  EXPECT_EQ(row, "RGBW");
  // Centre crop of the displayed 64x32 picture: the middle square holds green and blue only
  // (the coded 32x32 square would have kept all four stripes).
  ClipSource clip;
  clip.clip_id = "wide";
  clip.path = wide.string();
  clip.is_video = true;
  data::PackParams params;
  params.set_size(16);
  params.set_frames_per_clip(1);
  params.set_encoding(data::PackParams::raw);
  params.set_resize(data::PackParams::center_crop);
  const PackedClip packed = pack_clip(clip, params);
  ASSERT_TRUE(packed.reject_reason.empty()) << packed.reject_detail;
  std::string cropped;
  for (int x = 2; x < 16; x += 4) {
    cropped += colour(packed.raw_frames.data() + (size_t(8) * 16 + x) * 3);
  }
  EXPECT_EQ(cropped, "GGBB");
}

TEST(MediaRule, VideosAreRecognisedByContentNotByName) {
  REQUIRE_FFMPEG();
  const auto dir = scratch();
  const std::string src = "-f lavfi -i testsrc=s=176x144:d=0.4:r=10 ";
  // Containers people have, under their usual names and under misleading ones.
  ffmpeg(src + "-c:v h263 -f 3gp " + q(dir / "phone.3gp"));
  ffmpeg(src + "-c:v mpeg2video -f mpegts " + q(dir / "cam.MTS"));
  ffmpeg(src + "-c:v wmv2 -f asf " + q(dir / "old.wmv"));
  ffmpeg(src + "-c:v flv1 -f flv " + q(dir / "clip.flv"));
  ffmpeg(src + "-c:v mjpeg -f avi " + q(dir / "no_extension"));
  ffmpeg(src + "-c:v mpeg4 -f mp4 " + q(dir / "movie.txt"));
  for (const char* name :
       {"phone.3gp", "cam.MTS", "old.wmv", "clip.flv", "no_extension", "movie.txt"}) {
    SCOPED_TRACE(name);
    const VideoProbe probe = probe_video((dir / name).string());
    EXPECT_EQ(probe.kind, VideoProbe::kVideo) << probe.why_not;
    EXPECT_TRUE(is_video_file((dir / name).string()));
    int frames = 0;
    const Picture p = hesp_first_frame(dir / name, &frames);
    EXPECT_EQ(p.w, 176);
    EXPECT_EQ(p.h, 144);
    EXPECT_GE(frames, 3);
  }
  // Not videos, whatever their names say.
  fs::atomic_write_file(dir / "list.mp4", "clips/a.avi\nclips/b.avi\n");
  ffmpeg("-f lavfi -i sine=d=0.2 " + q(dir / "tone.wav"));
  ffmpeg("-f lavfi -i testsrc=s=32x32:d=0.1 -frames:v 1 -f image2 -c:v png " +
         q(dir / "still.avi"));
  std::string junk(3000, '\0');
  std::mt19937 rng(3);
  for (auto& ch : junk) ch = static_cast<char>(rng() & 0xFF);
  fs::atomic_write_file(dir / "junk.avi", junk);
  fs::atomic_write_file(dir / "empty.mp4", "");
  EXPECT_EQ(probe_video((dir / "list.mp4").string()).kind, VideoProbe::kText);
  EXPECT_EQ(probe_video((dir / "tone.wav").string()).kind, VideoProbe::kOtherMedia);
  EXPECT_EQ(probe_video((dir / "still.avi").string()).kind, VideoProbe::kOtherMedia);
  EXPECT_EQ(probe_video((dir / "junk.avi").string()).kind, VideoProbe::kUnknown);
  EXPECT_EQ(probe_video((dir / "empty.mp4").string()).kind, VideoProbe::kUnknown);
  for (const char* name : {"list.mp4", "tone.wav", "still.avi", "junk.avi", "empty.mp4"}) {
    EXPECT_FALSE(is_video_file((dir / name).string())) << name;
    EXPECT_THROW(decode_video((dir / name).string(), [](const uint8_t*, int, int) {}), UserError)
        << name;
  }
}

// The AFEW importer scans class folders with the same rule: videos by content are clips, a
// file FFmpeg does not recognise is a clip that will be rejected (never silently dropped),
// text, audio and still images are not clips.
TEST(MediaRule, AfewScanTakesVideosByContent) {
  REQUIRE_FFMPEG();
  const auto root = scratch();
  const auto happy = root / "Train_AFEW" / "Happy";
  stdfs::create_directories(happy);
  const std::string src = "-f lavfi -i testsrc=s=176x144:d=0.3:r=10 ";
  ffmpeg(src + "-c:v h263 -f 3gp " + q(happy / "a.3gp"));
  ffmpeg(src + "-c:v mpeg2video -f mpegts " + q(happy / "b.MTS"));
  fs::atomic_write_file(happy / "c.avi", std::string(500, '\x01') + "garbage");
  fs::atomic_write_file(happy / "notes.txt", "recorded 2013\n");
  ffmpeg("-f lavfi -i sine=d=0.2 " + q(happy / "d.wav"));
  ImportOptions o;
  o.root = root.string();
  const ImportResult r = import_dataset("afew", o);
  std::vector<std::string> ids;
  for (const auto& c : r.clips) ids.push_back(c.clip_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"Train_AFEW/Happy/a", "Train_AFEW/Happy/b",
                                           "Train_AFEW/Happy/c"}));
  data::PackParams params;
  params.set_size(16);
  params.set_encoding(data::PackParams::raw);
  for (const auto& c : r.clips) {
    const PackedClip p = pack_clip(c, params);
    if (c.clip_id.back() == 'c') {
      EXPECT_EQ(p.reject_reason, reason::kUnreadableVideo);
      EXPECT_NE(p.reject_detail.find("not a container FFmpeg recognises"), std::string::npos)
          << p.reject_detail;
    } else {
      EXPECT_TRUE(p.reject_reason.empty()) << c.clip_id << ": " << p.reject_detail;
      EXPECT_EQ(p.source_num_frames, 3) << c.clip_id;
    }
  }
}

}  // namespace
}  // namespace hesp::pack::testing
