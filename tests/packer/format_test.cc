// The shard format library and the packer's building blocks, in-process: frame sampling,
// JPEG codec, shard write/read round trip, manifest text round trip, numeric frame order.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "data/format/frame_sampling.h"
#include "data/format/jpeg_codec.h"
#include "data/format/manifest_io.h"
#include "data/format/shard_reader.h"
#include "data/format/shard_writer.h"
#include "media/frame_source.h"
#include "packer_test_util.h"
#include "util/errors.h"

namespace hesp::pack::testing {
namespace {

TEST(FrameSampling, MiddleOfEqualSegments) {
  // n = 10, T = 4: segments [0,2.5) [2.5,5) [5,7.5) [7.5,10); middles 1.25 3.75 6.25 8.75.
  EXPECT_EQ(data::segment_middle_indices(10, 4), (std::vector<int>{1, 3, 6, 8}));
  // n = T: every frame once.
  EXPECT_EQ(data::segment_middle_indices(5, 5), (std::vector<int>{0, 1, 2, 3, 4}));
  // Shorter clips repeat their last frame.
  EXPECT_EQ(data::segment_middle_indices(3, 6), (std::vector<int>{0, 1, 2, 2, 2, 2}));
  EXPECT_EQ(data::segment_middle_indices(1, 3), (std::vector<int>{0, 0, 0}));
  for (int n = 1; n < 200; n += 7) {
    for (int T : {1, 4, 8, 16}) {
      const auto idx = data::segment_middle_indices(n, T);
      for (int j = 0; j < T; ++j) {
        const int want =
            n < T ? std::min(j, n - 1) : static_cast<int>(std::floor((j + 0.5) * n / T + 1e-9));
        EXPECT_EQ(idx[j], want) << "n=" << n << " T=" << T << " j=" << j;
      }
    }
  }
}

std::vector<uint8_t> gradient_image(int w, int h, int seed) {
  std::vector<uint8_t> v(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &v[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = static_cast<uint8_t>(seed * 7 + x + y);  // smooth, no wrap-around edge
    }
  }
  return v;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return a.empty() ? 0 : s / a.size();
}

TEST(JpegCodec, RoundTripWithinCodecErrorAndRejectsTruncation) {
  const auto img = gradient_image(40, 24, 1);
  const std::string jpg = data::jpeg::encode_rgb(img.data(), 40, 24, 95);
  const auto* bytes = reinterpret_cast<const uint8_t*>(jpg.data());
  const auto dec = data::jpeg::decode_rgb(bytes, jpg.size(), "test");
  EXPECT_EQ(dec.width, 40);
  EXPECT_EQ(dec.height, 24);
  EXPECT_LT(mean_abs_diff(img, dec.rgb), 3.0);
  EXPECT_THROW(data::jpeg::decode_rgb(bytes, jpg.size() / 2, "half"), UserError);
  std::vector<uint8_t> out(40 * 24 * 3);
  EXPECT_THROW(data::jpeg::decode_rgb_into(bytes, jpg.size(), 24, 40, out.data(), "size"),
               UserError);
}

data::PackParams params(data::PackParams::Encoding e, int T, int S) {
  data::PackParams p;
  p.set_encoding(e);
  p.set_frames_per_clip(T);
  p.set_size(S);
  return p;
}

// Format 2: clip i stores 1 + i % T frames under the cap T (a short source keeps all of its
// frames, nothing repeated); the reader returns exactly those frames.
TEST(ShardFormat, WriterAndReaderAgreeForBothEncodings) {
  const auto dir = scratch();
  const int T = 3, S = 16, N = 5;
  for (auto enc : {data::PackParams::jpeg, data::PackParams::raw}) {
    const auto path = dir / (enc == data::PackParams::raw ? "raw.h5" : "jpeg.h5");
    std::vector<std::vector<uint8_t>> clips;
    data::ShardInfo info;
    {
      data::ShardWriter w(path, params(enc, T, S));
      EXPECT_TRUE(stdfs::exists(w.temp_path()));
      EXPECT_FALSE(stdfs::exists(path)) << "a shard must not be visible before finish()";
      for (int i = 0; i < N; ++i) {
        std::vector<uint8_t> frames;
        std::vector<std::string> jpgs;
        const int stored = 1 + i % T;
        for (int j = 0; j < stored; ++j) {
          auto f = gradient_image(S, S, i * T + j);
          jpgs.push_back(data::jpeg::encode_rgb(f.data(), S, S, 95));
          frames.insert(frames.end(), f.begin(), f.end());
        }
        const data::shard::ClipRecord rec{"clip/" + std::to_string(i), i % 3 - (i == 4),
                                          i == 2 ? "anger_fear" : "", i % 2 ? "test" : "train",
                                          10 + i};
        if (enc == data::PackParams::raw) {
          w.add_raw_clip(rec, frames.data(), stored);
        } else {
          w.add_jpeg_clip(rec, jpgs);
        }
        clips.push_back(frames);
      }
      info = w.finish();
    }
    EXPECT_EQ(info.file(), path.filename().string());
    EXPECT_EQ(info.num_clips(), N);
    EXPECT_EQ(info.size_bytes(), static_cast<int64_t>(stdfs::file_size(path)));
    EXPECT_FALSE(stdfs::exists(path.string() + ".partial"));
    data::ShardReader r(path);
    EXPECT_EQ(r.header().format_version, 2);
    EXPECT_EQ(r.header().num_clips, N);
    EXPECT_EQ(r.header().frames_per_clip, T);
    EXPECT_EQ(r.header().size, S);
    EXPECT_EQ(r.header().encoding, enc == data::PackParams::raw ? "raw" : "jpeg");
    for (int i = 0; i < N; ++i) {
      const auto& rec = r.records()[i];
      EXPECT_EQ(rec.clip_id, "clip/" + std::to_string(i));
      EXPECT_EQ(rec.label, i % 3 - (i == 4));
      EXPECT_EQ(rec.compound_label, i == 2 ? "anger_fear" : "");
      EXPECT_EQ(rec.split, i % 2 ? "test" : "train");
      EXPECT_EQ(rec.source_num_frames, 10 + i);
      EXPECT_EQ(rec.stored_num_frames, 1 + i % T);
      EXPECT_EQ(r.stored_frames(i), 1 + i % T);
      const auto got = r.read_rgb_frames(i);
      ASSERT_EQ(got.size(), static_cast<size_t>(1 + i % T) * S * S * 3);
      if (enc == data::PackParams::raw) {
        EXPECT_EQ(got, clips[i]);
      } else {
        EXPECT_LT(mean_abs_diff(got, clips[i]), 3.0);
      }
    }
    EXPECT_EQ(r.find("clip/3"), 3);
    EXPECT_EQ(r.find("nope"), -1);
  }
}

TEST(ShardFormat, AbandonedWriterLeavesNothing) {
  const auto dir = scratch();
  const auto path = dir / "shard-00000.h5";
  {
    data::ShardWriter w(path, params(data::PackParams::raw, 2, 8));
    std::vector<uint8_t> frames(2 * 8 * 8 * 3, 7);
    w.add_raw_clip({"a", 0, "", "train", 2}, frames.data(), 2);
  }  // No finish(): as if the packer failed mid-shard.
  EXPECT_TRUE(stdfs::is_empty(dir));
}

TEST(Manifest, TextRoundTripAndStrictParsing) {
  const auto dir = scratch();
  data::Manifest m;
  m.set_tool_version("hesp-pack test");
  m.add_class_names("anger");
  m.add_class_names("fear");
  m.mutable_params()->set_encoding(data::PackParams::raw);
  m.mutable_params()->set_frames_per_clip(8);
  auto* s = m.add_shards();
  s->set_file("shard-00000.h5");
  s->set_sha256("ab");
  m.set_num_clips(3);
  data::write_manifest(dir, m);
  const auto back = data::read_manifest(dir);
  EXPECT_EQ(back.SerializeAsString(), m.SerializeAsString());
  std::ofstream(dir / "manifest.pbtxt", std::ios::app) << "no_such_field: 1\n";
  EXPECT_THROW(data::read_manifest(dir), UserError);
  EXPECT_THROW(data::read_manifest(dir / "missing"), UserError);
}

void touch_jpeg(const stdfs::path& p) {
  const auto img = gradient_image(8, 8, 0);
  std::ofstream(p, std::ios::binary) << data::jpeg::encode_rgb(img.data(), 8, 8, 90);
}

TEST(FrameListing, SortsByNumberNotName) {
  const auto dir = scratch();
  for (int k = 1; k <= 12; ++k) touch_jpeg(dir / (std::to_string(k) + ".jpg"));
  std::ofstream(dir / "notes.txt") << "ignored";
  const auto l = list_frame_folder(dir.string());
  ASSERT_TRUE(l.reject_reason.empty()) << l.reject_detail;
  ASSERT_EQ(l.files.size(), 12u);
  for (int k = 1; k <= 12; ++k) {
    EXPECT_EQ(stdfs::path(l.files[k - 1]).filename().string(), std::to_string(k) + ".jpg");
  }
  EXPECT_EQ(frame_number("img_00017.jpg"), 17);
  EXPECT_EQ(frame_number("clip3_frame42.png"), 42);
  EXPECT_EQ(frame_number("face.jpg"), -1);
}

TEST(FrameListing, RealGapsEmptyAndMissingFoldersAreRejected) {
  const auto dir = scratch();
  stdfs::create_directories(dir / "gap");
  for (int k : {1, 2, 4}) touch_jpeg(dir / "gap" / (std::to_string(k) + ".jpg"));
  EXPECT_EQ(list_frame_folder((dir / "gap").string()).reject_reason, "frame_gap");
  stdfs::create_directories(dir / "empty");
  EXPECT_EQ(list_frame_folder((dir / "empty").string()).reject_reason, "empty_folder");
  EXPECT_EQ(list_frame_folder((dir / "missing").string()).reject_reason, "missing_folder");
}

}  // namespace
}  // namespace hesp::pack::testing
