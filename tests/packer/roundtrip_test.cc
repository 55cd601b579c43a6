// synth -> hesp-pack convert -> read back, per layout: every packed clip equals a direct
// decode of its source frames at independently computed segment-middle indices (raw:
// exact; jpeg: within codec error), labels match the source's class, counts reconcile.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "data/format/jpeg_codec.h"
#include "data/loader/dataset.h"
#include "packer_test_util.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

struct Layout {
  std::string name;
  std::string convert_args;   // format and format options, relative to the synth root
  std::string frame_pattern;  // printf pattern of frame file names
};

// The source frame folder of a packed clip, per layout (written out independently of the
// importers).
stdfs::path source_dir(const std::string& layout, const stdfs::path& root, const std::string& id) {
  if (layout == "afew" || layout == "reference-list") return root / id;
  if (layout == "mafw") return root / "data" / "frames" / id;
  return root / "Clip" / "clip_224x224" / id;  // dfew
}

std::vector<uint8_t> decode_file(const stdfs::path& p) {
  const std::string bytes = fs::read_file(p);
  return data::jpeg::decode_rgb(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                p.string())
      .rgb;
}

// The source frame stored as frame j of a clip of n source frames under the cap T (0 = no
// cap), written as the spec states it: every frame when n <= T, else the middle of
// segment j of T equal segments.
int middle(int n, int T, int j) {
  if (T <= 0 || n <= T) return j;
  return static_cast<int>(std::floor((j + 0.5) * static_cast<double>(n) / T));
}

int stored_count(int n, int T) { return T <= 0 ? n : std::min(n, T); }

double mean_abs(const uint8_t* a, const uint8_t* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / n;
}

class RoundTrip : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(RoundTrip, PackedFramesEqualSourceFrames) {
  const auto [layout, encoding] = GetParam();
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out";
  const int S = 40, T = 5;
  auto r = run(hesp_pack() + " synth --layout " + layout + " --out " + q(src) +
               " --clips-per-class 2 --frames 9 --size " + std::to_string(S));
  ASSERT_EQ(r.code, 0) << r.output;
  std::string fmt_args = "--format " + layout;
  std::string pattern = "%d.jpg";
  if (layout == "reference-list") {
    fmt_args += " --list train=" + q(src / "train.txt") + " --list val=" + q(src / "val.txt");
  }
  if (layout == "dfew") pattern = "%05d.jpg";
  r = run(hesp_pack() + " convert " + fmt_args + " --root " + q(src) + " --output " + q(out) +
          " --size " + std::to_string(S) + " --frames-per-clip " + std::to_string(T) +
          " --encoding " + encoding + " --threads 2 --strict");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto m = data::read_manifest(out);
  const auto clips = read_packed(out);
  ASSERT_FALSE(clips.empty());
  EXPECT_EQ(static_cast<int64_t>(clips.size()), m.num_clips());
  EXPECT_EQ(m.num_rejected(), 0);
  EXPECT_EQ(m.num_input_clips(), m.num_clips());
  const size_t frame_bytes = static_cast<size_t>(S) * S * 3;
  for (const auto& [id, c] : clips) {
    const auto folder = source_dir(layout, src, id);
    ASSERT_TRUE(stdfs::is_directory(folder)) << folder;
    int n = 0;
    for (const auto& e : stdfs::directory_iterator(folder)) n += e.is_regular_file();
    EXPECT_EQ(c.record.source_num_frames, n) << id;
    EXPECT_EQ(c.record.stored_num_frames, stored_count(n, T)) << id;
    ASSERT_EQ(c.rgb.size(), frame_bytes * static_cast<size_t>(stored_count(n, T))) << id;
    ASSERT_GE(c.record.label, 0) << id;
    if (layout == "afew") {  // The class folder names the class.
      EXPECT_EQ(m.class_names(c.record.label), folder.parent_path().filename().string());
    }
    for (int j = 0; j < stored_count(n, T); ++j) {
      char name[32];
      std::snprintf(name, sizeof(name), pattern.c_str(), middle(n, T, j) + 1);
      const auto want = decode_file(folder / name);
      ASSERT_EQ(want.size(), frame_bytes);
      const uint8_t* got = c.rgb.data() + j * frame_bytes;
      if (encoding == "raw") {
        EXPECT_EQ(0, std::memcmp(got, want.data(), frame_bytes)) << id << " frame " << j;
      } else {
        EXPECT_LT(mean_abs(got, want.data(), frame_bytes), 3.0) << id << " frame " << j;
      }
      // The neighbouring source frame differs: selection, not just content, is checked.
      if (j == 1 && n > T) {
        std::snprintf(name, sizeof(name), pattern.c_str(), middle(n, T, j));
        const auto other = decode_file(folder / name);
        EXPECT_GT(mean_abs(got, other.data(), frame_bytes), 0.0) << id;
      }
    }
  }
  // Per class x split counts equal a recount from the clips.
  std::map<std::pair<std::string, std::string>, int64_t> recount;
  for (const auto& [id, c] : clips) ++recount[{m.class_names(c.record.label), c.record.split}];
  for (const auto& e : m.counts()) {
    EXPECT_EQ(e.count(), (recount[{e.class_name(), e.split()}]))
        << e.class_name() << "/" << e.split();
  }
  r = run(hesp_pack() + " verify " + q(out));
  EXPECT_EQ(r.code, 0) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Layouts, RoundTrip,
                         ::testing::Combine(::testing::Values("afew", "mafw", "reference-list",
                                                              "dfew"),
                                            ::testing::Values("raw", "jpeg")),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (auto& ch : n) ch = std::isalnum(ch) ? ch : '_';
                           return n;
                         });

TEST(RoundTripVideo, AfewAviFramesEqualDirectVideoDecode) {
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out";
  const int S = 32, T = 4;
  auto r = run(hesp_pack() + " synth --layout afew --video --out " + q(src) +
               " --clips-per-class 1 --frames 10 --size " + std::to_string(S));
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " convert --format afew --root " + q(src) + " --output " + q(out) +
          " --size 32 --frames-per-clip 4 --encoding raw --strict");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto clips = read_packed(out);
  EXPECT_EQ(clips.size(), 7u * 2u);  // 7 classes x (Train 1 + Val 1), .wav files ignored
  const size_t frame_bytes = S * S * 3;
  for (const auto& [id, c] : clips) {
    cv::VideoCapture cap((src / (id + ".avi")).string());
    ASSERT_TRUE(cap.isOpened()) << id;
    std::vector<cv::Mat> frames;
    cv::Mat bgr, rgb;
    while (cap.read(bgr)) {
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      frames.push_back(rgb.clone());
    }
    const int n = static_cast<int>(frames.size());
    EXPECT_EQ(c.record.source_num_frames, n);
    ASSERT_EQ(c.rgb.size(), frame_bytes * static_cast<size_t>(stored_count(n, T))) << id;
    for (int j = 0; j < stored_count(n, T); ++j) {
      EXPECT_EQ(
          0, std::memcmp(c.rgb.data() + j * frame_bytes, frames[middle(n, T, j)].data, frame_bytes))
          << id << " frame " << j;
    }
  }
}

// Without --frames-per-clip every source frame is stored (spec section 1: the loader samples
// its T frames over all of them), and the loader sees exactly those frames.
TEST(RoundTripAllFrames, DefaultStoresEverySourceFrame) {
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out";
  auto r = run(hesp_pack() + " synth --layout dfew --out " + q(src) +
               " --clips-per-class 1 --frames 7 --size 32");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " convert --format dfew --root " + q(src) + " --output " + q(out) +
          " --size 32 --encoding raw --strict");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto m = data::read_manifest(out);
  EXPECT_EQ(m.params().frames_per_clip(), 0);
  const size_t frame_bytes = 32 * 32 * 3;
  for (const auto& [id, c] : read_packed(out)) {
    const auto folder = source_dir("dfew", src, id);
    int n = 0;
    for (const auto& e : stdfs::directory_iterator(folder)) n += e.is_regular_file();
    EXPECT_EQ(c.record.stored_num_frames, n) << id;
    ASSERT_EQ(c.rgb.size(), frame_bytes * n) << id;
    for (int j = 0; j < n; ++j) {
      char name[32];
      std::snprintf(name, sizeof(name), "%05d.jpg", j + 1);
      const auto want = decode_file(folder / name);
      EXPECT_EQ(0, std::memcmp(c.rgb.data() + j * frame_bytes, want.data(), frame_bytes))
          << id << " frame " << j;
    }
  }
  // The loader reads every stored frame of each clip.
  data::DatasetOptions o;
  o.manifests = {out};
  data::Dataset ds(o);
  ASSERT_EQ(ds.size(), m.num_clips());
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto enc = ds.read(i);
    EXPECT_EQ(enc.frames, ds.clip(i).source_num_frames) << ds.clip(i).clip_id;
    EXPECT_EQ(enc.bytes.size(), frame_bytes * static_cast<size_t>(enc.frames));
  }
  r = run(hesp_pack() + " verify " + q(out));
  EXPECT_EQ(r.code, 0) << r.output;
}

TEST(Inspect, DumpWritesTheClipFrames) {
  const auto dir = scratch();
  auto r = run(hesp_pack() + " synth --layout dfew --out " + q(dir / "src") +
               " --clips-per-class 1 --frames 6 --size 32");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " convert --format dfew --root " + q(dir / "src") + " --output " +
          q(dir / "out") + " --size 32 --frames-per-clip 3");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " inspect " + q(dir / "out"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("Happy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("set_1/train"), std::string::npos) << r.output;
  r = run(hesp_pack() + " inspect " + q(dir / "out") + " --dump 00001 --out " + q(dir / "dump"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto packed = read_packed(dir / "out").at("00001");
  for (int j = 0; j < 3; ++j) {
    const auto f = decode_file(dir / "dump" / (std::to_string(j) + ".jpg"));
    EXPECT_LT(mean_abs(f.data(), packed.rgb.data() + j * 32 * 32 * 3, 32 * 32 * 3), 0.5);
  }
  r = run(hesp_pack() + " inspect " + q(dir / "out") + " --dump nope --out " + q(dir / "d2"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("nope"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hesp::pack::testing
