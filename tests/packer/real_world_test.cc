// Copies of the datasets as researchers have them (spec/datasets.md, "Problems users of
// these datasets report"), kind by kind and importer by importer: text files from
// spreadsheets and other systems, file-system litter, JPEG/PNG variants and damage, paths
// from other machines, integrity findings, a pack that packs nothing, truncated shards.
#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "data/format/h5.h"
#include "data/format/jpeg_codec.h"
#include "data/loader/dataset.h"
#include "importers.h"
#include "media/frame_source.h"
#include "media/image_decode.h"
#include "media/source_paths.h"
#include "packer_test_util.h"
#include "text_lines.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

// ---- helpers -------------------------------------------------------------------------------

void write(const stdfs::path& p, const std::string& bytes) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::vector<uint8_t> solid(int S, int r, int g, int b) {
  std::vector<uint8_t> v(static_cast<size_t>(S) * S * 3);
  for (size_t i = 0; i < v.size(); i += 3) {
    v[i] = static_cast<uint8_t>(r);
    v[i + 1] = static_cast<uint8_t>(g);
    v[i + 2] = static_cast<uint8_t>(b);
  }
  return v;
}

std::vector<uint8_t> pattern(int S, int seed) {
  std::vector<uint8_t> v(static_cast<size_t>(S) * S * 3);
  for (int y = 0; y < S; ++y) {
    for (int x = 0; x < S; ++x) {
      uint8_t* p = &v[(static_cast<size_t>(y) * S + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / S);
      p[1] = static_cast<uint8_t>(y * 255 / S);
      p[2] = static_cast<uint8_t>(seed * 37 + x + y);
    }
  }
  return v;
}

std::string jpeg(const std::vector<uint8_t>& rgb, int S) {
  return data::jpeg::encode_rgb(rgb.data(), S, S, 92);
}

// TurboJPEG with any pixel format / flags (CMYK input is written as an Adobe YCCK JPEG).
std::string tj_encode(const std::vector<uint8_t>& px, int S, int pf, int samp, int flags) {
  tjhandle h = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long n = 0;
  const int rc = tjCompress2(h, px.data(), S, 0, S, pf, &out, &n, samp, 92, flags);
  std::string s = rc == 0 ? std::string(reinterpret_cast<char*>(out), n) : "";
  tjFree(out);
  tjDestroy(h);
  EXPECT_EQ(rc, 0);
  return s;
}

// TurboJPEG's plain decode (flags 0, as PIL/OpenCV decode), the pixels a frame must keep.
std::vector<uint8_t> tj_decode(const std::string& bytes, int pf, int channels, int S) {
  tjhandle h = tjInitDecompress();
  std::vector<uint8_t> out(static_cast<size_t>(S) * S * channels);
  tjDecompress2(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data(),
                S, 0, S, pf, 0);
  tjDestroy(h);
  return out;
}

std::string decode_error(const std::string& bytes) {
  try {
    decode_image_bytes(bytes, "frame.jpg");
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string utf16le_bom(const std::string& ascii) {
  std::string s = "\xFF\xFE";
  for (char c : ascii) {
    s += c;
    s += '\0';
  }
  return s;
}

std::string utf16be_bom(const std::string& ascii) {
  std::string s = "\xFE\xFF";
  for (char c : ascii) {
    s += '\0';
    s += c;
  }
  return s;
}

// The text variants a spreadsheet program or another OS may produce for `lines`.
std::vector<std::pair<std::string, std::string>> text_variants(
    const std::vector<std::string>& lines) {
  std::string lf, crlf, messy;
  for (const auto& l : lines) {
    lf += l + "\n";
    crlf += l + "\r\n";
    messy += l + " \t\r\n\r\n  \t\n";
  }
  return {{"lf", lf},
          {"crlf", crlf},
          {"bom", "\xEF\xBB\xBF" + lf},
          {"bom_crlf_no_final_newline", "\xEF\xBB\xBF" + crlf.substr(0, crlf.size() - 2)},
          {"trailing_blanks_blank_lines", messy},
          {"cr_only",
           [&] {
             std::string s;
             for (const auto& l : lines) s += l + "\r";
             return s;
           }()},
          {"utf16le_bom", utf16le_bom(crlf)},
          {"utf16be_bom", utf16be_bom(lf)}};
}

std::map<std::string, const ClipSource*> by_id(const ImportResult& r) {
  std::map<std::string, const ClipSource*> m;
  for (const auto& c : r.clips) m[c.clip_id] = &c;
  return m;
}

void write_frames(const stdfs::path& dir, int n, int S, int seed,
                  const char* pattern_name = "%d.jpg") {
  for (int k = 0; k < n; ++k) {
    char name[32];
    std::snprintf(name, sizeof(name), pattern_name, k + 1);
    write(dir / name, jpeg(pattern(S, seed * 31 + k), S));
  }
}

int count_lines(const std::string& s, const std::string& needle = "") {
  int n = 0;
  size_t at = 0;
  while (at < s.size()) {
    const size_t end = s.find('\n', at);
    const std::string line = s.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!line.empty() && (needle.empty() || line.find(needle) != std::string::npos)) ++n;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return n;
}

// ---- 1. text inputs ------------------------------------------------------------------------

TEST(TextInputs, EveryEncodingAndLineEndReadsTheSameLines) {
  const std::vector<std::string> want = {"path,label,split", "clip A,happy,train",
                                         "clipB,sad,test"};
  for (const auto& [name, bytes] : text_variants(want)) {
    const auto lines = text_lines_from_bytes(bytes, name);
    ASSERT_EQ(lines.size(), want.size()) << name;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(lines[i].text, want[i]) << name;
    EXPECT_EQ(lines[0].number, 1) << name;
  }
  // Line numbers count blank lines (messages point at the right line).
  EXPECT_EQ(text_lines_from_bytes("a\n\n\nb\n", "x")[1].number, 4);
}

TEST(TextInputs, Utf16WithoutBomUtf32AndNulAreRefusedNamingFileAndEncoding) {
  std::string no_bom = utf16le_bom("a,b\n").substr(2);
  for (const auto& [bytes, what] : std::vector<std::pair<std::string, std::string>>{
           {no_bom, "UTF-16"},
           {std::string("\xFF\xFE\0\0a\0\0\0", 8), "UTF-32"},
           {std::string("ab\0c\n", 5), "NUL"}}) {
    try {
      text_lines_from_bytes(bytes, "my list.csv");
      ADD_FAILURE() << what << " accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("my list.csv"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
}

TEST(TextInputs, CsvFieldsQuotesAndHeaders) {
  EXPECT_EQ(split_csv(" a b , \"c, d\" ,e\t"), (std::vector<std::string>{"a b", "c, d", "e"}));
  EXPECT_EQ(split_csv("x;1;train"), (std::vector<std::string>{"x", "1", "train"}));
  EXPECT_EQ(split_csv("x\t1"), (std::vector<std::string>{"x", "1"}));
  EXPECT_EQ(split_csv("\"say \"\"hi\"\"\",2,"), (std::vector<std::string>{"say \"hi\"", "2"}));
  EXPECT_TRUE(is_header_row({"Path", "Label", "Split"}));
  EXPECT_TRUE(is_header_row({"video_name", "label"}));
  EXPECT_FALSE(is_header_row({"00001", "3"}));
  EXPECT_FALSE(is_header_row({"03747.mp4", "anger", "a video with a label"}));
}

// Each importer reads each text variant of its annotation file into the same clips and labels.
struct ImporterText {
  std::string format;
  std::function<void(const stdfs::path&)> tree;              // media
  std::function<stdfs::path(const stdfs::path&)> text_file;  // which text file varies
  std::vector<std::string> lines;                            // its lines (header first)
  std::map<std::string, std::string> want;                   // clip id -> class name
  std::function<void(ImportOptions&, const stdfs::path&)> options;
};

std::vector<ImporterText> importer_texts() {
  std::vector<ImporterText> v;
  v.push_back({"csv",
               [](const stdfs::path& r) {
                 write_frames(r / "clip A", 2, 16, 1);
                 write_frames(r / "clipB", 2, 16, 2);
               },
               [](const stdfs::path& r) { return r / "clips.csv"; },
               {"path,label,split", "clip A,happy,train", "clipB,sad,test"},
               {{"clip A", "happy"}, {"clipB", "sad"}},
               [](ImportOptions&, const stdfs::path&) {}});
  v.push_back(
      {"reference-list",
       [](const stdfs::path& r) {
         write_frames(r / "data" / "frames" / "00001", 3, 16, 1);
         write_frames(r / "data" / "frames" / "00002", 3, 16, 2);
       },
       [](const stdfs::path& r) { return r / "train.txt"; },
       {"path frames label class", "data/frames/00001 3 0 Angry", "data/frames/00002 3 1 Disgust"},
       {{"data/frames/00001", "Angry"}, {"data/frames/00002", "Disgust"}},
       [](ImportOptions& o, const stdfs::path& r) {
         o.lists = {{"train", (r / "train.txt").string()}};
       }});
  v.push_back({"dfew",
               [](const stdfs::path& r) {
                 write_frames(r / "Clip" / "clip_224x224" / "00001", 2, 16, 1, "%05d.jpg");
                 write_frames(r / "Clip" / "clip_224x224" / "00002", 2, 16, 2, "%05d.jpg");
                 write(r / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv",
                       "video_name,label\n");
               },
               [](const stdfs::path& r) {
                 return r / "EmoLabel_DataSplit" / "train(single-labeled)" / "set_1.csv";
               },
               {"video_name,label", "1,1", "2,4"},
               {{"00001", "Happy"}, {"00002", "Angry"}},
               [](ImportOptions& o, const stdfs::path&) { o.dataset_set = 1; }});
  v.push_back({"ferv39k",
               [](const stdfs::path& r) {
                 write_frames(r / "2_ClipsforFaceCrop" / "Street" / "Happy" / "0001", 2, 16, 1);
                 write_frames(r / "2_ClipsforFaceCrop" / "Street" / "Sad" / "0002", 2, 16, 2);
                 write(r / "4_setups" / "All_scenes" / "test_All.csv", "");
               },
               [](const stdfs::path& r) { return r / "4_setups" / "All_scenes" / "train_All.csv"; },
               {"path,label", "Street/Happy/0001,3", "Street/Sad/0002,5"},
               {{"Street/Happy/0001", "Happy"}, {"Street/Sad/0002", "Sad"}},
               [](ImportOptions&, const stdfs::path&) {}});
  v.push_back({"mafw",
               [](const stdfs::path& r) {
                 write_frames(r / "data" / "frames" / "00001", 2, 16, 1);
                 write_frames(r / "data" / "frames" / "00002", 2, 16, 2);
               },
               [](const stdfs::path& r) { return r / "single_label.txt"; },
               {"video_name label caption", "00001.mp4 anger a caption", "00002.mp4 fear text"},
               {{"00001", "anger"}, {"00002", "fear"}},
               [](ImportOptions&, const stdfs::path&) {}});
  return v;
}

TEST(TextInputs, EveryImporterReadsEveryVariantWithAndWithoutHeader) {
  const auto dir = scratch();
  int k = 0;
  for (const auto& it : importer_texts()) {
    for (bool header : {true, false}) {
      std::vector<std::string> lines = it.lines;
      if (!header) lines.erase(lines.begin());
      for (const auto& [variant, bytes] : text_variants(lines)) {
        const auto root = dir / std::to_string(k++);
        it.tree(root);
        write(it.text_file(root), bytes);
        ImportOptions o;
        o.root = root.string();
        it.options(o, root);
        const auto r = import_dataset(it.format, o);
        const auto ids = by_id(r);
        ASSERT_EQ(r.clips.size(), it.want.size()) << it.format << " " << variant;
        for (const auto& [id, cls] : it.want) {
          ASSERT_TRUE(ids.count(id)) << it.format << " " << variant << " " << id;
          const auto* c = ids.at(id);
          EXPECT_EQ(c->reject_reason, "") << it.format << " " << variant << " " << c->reject_detail;
          ASSERT_GE(c->label, 0) << it.format << " " << variant;
          EXPECT_EQ(r.class_names[c->label], cls) << it.format << " " << variant;
        }
      }
    }
  }
}

// ---- 2. file-system litter -----------------------------------------------------------------

TEST(Litter, MetadataNames) {
  for (const char* n :
       {"._1.jpg", ".DS_Store", "Thumbs.db", "THUMBS.DB", "desktop.ini", "@eaDir", ".1.jpg.swp",
        "1.jpg~", "x.swp", "__MACOSX", "$RECYCLE.BIN", "#recycle", ".Trashes", "Icon\r"}) {
    EXPECT_TRUE(is_metadata_name(n)) << n;
  }
  for (const char* n : {"1.jpg", "000000001", "Happy", "img_00017.png", "clip.avi", "x y.jpg"}) {
    EXPECT_FALSE(is_metadata_name(n)) << n;
  }
}

std::string appledouble() {
  std::string s("\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ", 24);
  return s + std::string(4072, '\0');
}

// Litter in every frame folder, class folder and split folder of every layout's synthetic
// tree, plus litter videos in AFEW: the pack is exactly the clean one, under --strict.
TEST(Litter, EveryImporterIgnoresLitterForFramesAndVideos) {
  const auto dir = scratch();
  for (const std::string layout : {"afew", "mafw", "reference-list", "dfew"}) {
    for (bool video : {false, true}) {
      if (video && layout != "afew" && layout != "mafw") continue;
      const stdfs::path src = dir / (layout + (video ? "-video" : ""));
      const stdfs::path out = src.string() + "-out";
      auto r = run(hesp_pack() + " synth --layout " + layout + " --out " + q(src) +
                   " --clips-per-class 1 --frames 5 --size 16" + (video ? " --video" : ""));
      ASSERT_EQ(r.code, 0) << r.output;
      int folders = 0;
      std::vector<stdfs::path> dirs;
      for (const auto& e : stdfs::recursive_directory_iterator(src)) {
        if (e.is_directory()) dirs.push_back(e.path());
      }
      for (const auto& d : dirs) {
        for (const char* junk : {"._1.jpg", "._00001.jpg", ".DS_Store", "Thumbs.db", "desktop.ini",
                                 ".1.jpg.swp", "2.jpg~", "._000000001.avi", "._00001.mp4"}) {
          write(d / junk, junk[0] == '.' && junk[1] == '_' ? appledouble() : "junk");
        }
        write(d / "@eaDir" / "1.jpg" / "SYNOFILE_THUMB_M.jpg", "thumb");
        ++folders;
      }
      ASSERT_GT(folders, 3);
      std::string args = "--format " + layout + " --root " + q(src);
      if (layout == "reference-list") {
        args += " --list train=" + q(src / "train.txt") + " --list val=" + q(src / "val.txt");
      }
      r = run(hesp_pack() + " convert " + args + " --output " + q(out) +
              " --size 16 --frames-per-clip 3 --strict");
      ASSERT_EQ(r.code, 0) << layout << " " << r.output;
      const auto m = data::read_manifest(out);
      EXPECT_EQ(m.num_rejected(), 0) << layout;
      for (const auto& [id, c] : read_packed(out, false)) {
        EXPECT_EQ(id.find("._"), std::string::npos) << id;
        EXPECT_EQ(id.find("@eaDir"), std::string::npos) << id;
        // synth's clips have 5 + i % 5 or 2 frames: litter never adds a frame.
        EXPECT_LE(c.record.source_num_frames, 9) << id;
      }
    }
  }
}

TEST(Litter, AfewClipWithAppleDoubleFramesKeepsItsEightFramesInOrder) {
  const auto dir = scratch();
  const auto clip = dir / "AFEW" / "Train_AFEW" / "Happy" / "000000001";
  for (int k = 1; k <= 8; ++k) {
    write(clip / (std::to_string(k) + ".jpg"), jpeg(solid(16, 20 * k, 0, 0), 16));
    write(clip / ("._" + std::to_string(k) + ".jpg"), appledouble());
  }
  write(dir / "AFEW" / "Train_AFEW" / "Happy" / "._000000001", appledouble());
  write(dir / "AFEW" / "Train_AFEW" / "._Happy", appledouble());
  const auto l = list_frame_folder(clip.string());
  ASSERT_EQ(l.reject_reason, "") << l.reject_detail;
  ASSERT_EQ(l.files.size(), 8u);
  for (int k = 1; k <= 8; ++k) {
    EXPECT_EQ(stdfs::path(l.files[k - 1]).filename().string(), std::to_string(k) + ".jpg");
  }
  ImportOptions o;
  o.root = (dir / "AFEW").string();
  const auto r = import_dataset("afew", o);
  ASSERT_EQ(r.clips.size(), 1u);
  EXPECT_EQ(r.clips[0].clip_id, "Train_AFEW/Happy/000000001");
}

// ---- 3. decoding ---------------------------------------------------------------------------

TEST(Decoding, JpegVariantsKeepTheirExactPixels) {
  const int S = 32;
  const auto rgb = pattern(S, 3);
  const std::string base = jpeg(rgb, S);
  const auto want = tj_decode(base, TJPF_RGB, 3, S);
  // Bytes after the end of image, stray bytes before EOI (libjpeg: a warning only).
  for (const std::string& variant :
       {base + std::string("trailing garbage \xFF\xD8 after EOI"),
        base.substr(0, base.size() - 2) + std::string(64, 'x') + "\xFF\xD9"}) {
    const auto img = decode_image_bytes(variant, "v.jpg");
    EXPECT_EQ(img.rgb, want);
  }
  // Progressive, 4:2:0, grayscale: equal to TurboJPEG's own decode.
  for (const auto& [bytes, pf, ch] : std::vector<std::tuple<std::string, int, int>>{
           {tj_encode(rgb, S, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE), TJPF_RGB, 3},
           {tj_encode(rgb, S, TJPF_RGB, TJSAMP_420, 0), TJPF_RGB, 3},
           {tj_encode(std::vector<uint8_t>(S * S, 120), S, TJPF_GRAY, TJSAMP_GRAY, 0), TJPF_RGB,
            3}}) {
    const auto img = decode_image_bytes(bytes, "v.jpg");
    EXPECT_EQ(img.rgb, tj_decode(bytes, pf, ch, S));
  }
  // Restart markers (OpenCV's libjpeg writer with a restart interval) and progressive.
  cv::Mat bgr(S, S, CV_8UC3);
  for (int i = 0; i < S * S; ++i) {
    bgr.data[3 * i] = rgb[3 * i + 2];
    bgr.data[3 * i + 1] = rgb[3 * i + 1];
    bgr.data[3 * i + 2] = rgb[3 * i];
  }
  for (const std::vector<int>& params :
       {std::vector<int>{cv::IMWRITE_JPEG_RST_INTERVAL, 1}, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}}) {
    std::vector<uchar> buf;
    ASSERT_TRUE(cv::imencode(".jpg", bgr, buf, params));
    const std::string bytes(buf.begin(), buf.end());
    if (params[0] == cv::IMWRITE_JPEG_RST_INTERVAL) {
      EXPECT_NE(bytes.find("\xFF\xDD"), std::string::npos) << "no DRI marker written";
    }
    EXPECT_EQ(decode_image_bytes(bytes, "v.jpg").rgb, tj_decode(bytes, TJPF_RGB, 3, S));
  }
}

TEST(Decoding, CmykAndYcckJpegsBecomeRgb) {
  const int S = 16;
  // C = 255 - R etc., K = 0, written by TurboJPEG as an Adobe YCCK JPEG. Adobe files are read
  // as inverted ink (Photoshop's convention, as PIL and OpenCV read them): R = C*K/255 of
  // the stored values.
  std::vector<uint8_t> cmyk;
  for (int i = 0; i < S * S; ++i) {
    cmyk.insert(cmyk.end(), {static_cast<uint8_t>(55), static_cast<uint8_t>(195),
                             static_cast<uint8_t>(225), static_cast<uint8_t>(i % 3 ? 0 : 200)});
  }
  const std::string bytes = tj_encode(cmyk, S, TJPF_CMYK, TJSAMP_444, 0);
  const auto stored = tj_decode(bytes, TJPF_CMYK, 4, S);
  const auto img = decode_image_bytes(bytes, "cmyk.jpg");
  ASSERT_EQ(img.width, S);
  for (int i = 0; i < S * S; ++i) {
    const int k = stored[4 * i + 3];
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(img.rgb[3 * i + c], (stored[4 * i + c] * k + 127) / 255) << i << " " << c;
    }
  }
}

TEST(Decoding, DamageIsRejectedWithItsTrueReason) {
  const int S = 32;
  const std::string base = jpeg(pattern(S, 1), S);
  EXPECT_NE(decode_error(base.substr(0, base.size() / 2)).find("truncated JPEG"),
            std::string::npos);
  EXPECT_NE(decode_error(base.substr(0, 40)).find("truncated JPEG"), std::string::npos);
  std::string bad_precision = base;
  const size_t sof = bad_precision.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bad_precision[sof + 4] = 7;  // sample precision 7: no such JPEG
  EXPECT_NE(decode_error(bad_precision).find("corrupt JPEG"), std::string::npos)
      << decode_error(bad_precision);
  EXPECT_NE(decode_error("").find("empty image file"), std::string::npos);
  EXPECT_NE(decode_error("not an image at all").find("unreadable image"), std::string::npos);
  // PNG: cut (truncated), trailing bytes (accepted), gray/RGBA/16-bit (RGB out).
  std::vector<uchar> png;
  cv::Mat m(S, S, CV_8UC4, cv::Scalar(30, 60, 200, 255));  // BGRA
  ASSERT_TRUE(cv::imencode(".png", m, png));
  const std::string p(png.begin(), png.end());
  EXPECT_NE(decode_error(p.substr(0, p.size() - 20)).find("truncated PNG"), std::string::npos);
  const auto ok = decode_image_bytes(p + "trailing", "x.png");
  EXPECT_EQ(ok.rgb[0], 200);
  EXPECT_EQ(ok.rgb[1], 60);
  EXPECT_EQ(ok.rgb[2], 30);
  cv::Mat m16(S, S, CV_16UC3, cv::Scalar(30 * 257, 60 * 257, 200 * 257));
  ASSERT_TRUE(cv::imencode(".png", m16, png));
  const auto img16 = decode_image_bytes(std::string(png.begin(), png.end()), "x16.png");
  EXPECT_EQ(img16.rgb[0], 200);
  EXPECT_EQ(img16.rgb[2], 30);
}

// End to end through each frame-folder importer: a CMYK frame, a frame with stray bytes and
// a progressive frame pack; a truncated frame rejects its clip as unreadable_image naming the
// file and "truncated JPEG".
TEST(Decoding, EveryImporterPacksDecodableVariantsAndNamesDamage) {
  const auto dir = scratch();
  const int S = 16;
  for (const std::string layout : {"afew", "mafw", "reference-list", "dfew"}) {
    const auto src = dir / layout, out = dir / (layout + "-out");
    auto r = run(hesp_pack() + " synth --layout " + layout + " --out " + q(src) +
                 " --clips-per-class 1 --frames 5 --size 16");
    ASSERT_EQ(r.code, 0) << r.output;
    std::vector<stdfs::path> frame_dirs;
    for (const auto& e : stdfs::recursive_directory_iterator(src)) {
      if (e.is_regular_file() && e.path().extension() == ".jpg") {
        frame_dirs.push_back(e.path().parent_path());
      }
    }
    std::sort(frame_dirs.begin(), frame_dirs.end());
    frame_dirs.erase(std::unique(frame_dirs.begin(), frame_dirs.end()), frame_dirs.end());
    ASSERT_GE(frame_dirs.size(), 3u);
    const char* first = layout == "dfew" ? "00001.jpg" : "1.jpg";
    const char* second = layout == "dfew" ? "00002.jpg" : "2.jpg";
    std::vector<uint8_t> cmyk(S * S * 4, 0);
    for (size_t i = 0; i < cmyk.size(); i += 4) cmyk[i] = 200;
    write(frame_dirs[0] / first, tj_encode(cmyk, S, TJPF_CMYK, TJSAMP_444, 0));
    const std::string clean = fs::read_file(frame_dirs[1] / first);
    write(frame_dirs[1] / first,
          clean.substr(0, clean.size() - 2) + std::string(64, 'x') + "\xFF\xD9");
    write(frame_dirs[1] / second,
          tj_encode(pattern(S, 9), S, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE));
    const std::string cut = fs::read_file(frame_dirs[2] / first);
    write(frame_dirs[2] / first, cut.substr(0, cut.size() / 2));
    std::string args = "--format " + layout + " --root " + q(src);
    if (layout == "reference-list") {
      args += " --list train=" + q(src / "train.txt") + " --list val=" + q(src / "val.txt");
    }
    r = run(hesp_pack() + " convert " + args + " --output " + q(out) +
            " --size 16 --frames-per-clip 0");
    ASSERT_EQ(r.code, 0) << layout << " " << r.output;
    const auto rejected = fs::read_file(out / "rejected.tsv");
    EXPECT_EQ(count_lines(rejected), 1) << layout << "\n" << rejected;
    EXPECT_EQ(count_lines(rejected, "\tunreadable_image\t"), 1) << rejected;
    EXPECT_NE(rejected.find("truncated JPEG"), std::string::npos) << rejected;
    EXPECT_NE(rejected.find(first), std::string::npos) << rejected;
    const auto m = data::read_manifest(out);
    EXPECT_EQ(m.num_input_clips(), m.num_clips() + 1);
  }
}

// ---- 4. paths in lists ---------------------------------------------------------------------

TEST(ListedPaths, NormalisedFromEveryOperatingSystem) {
  using V = std::vector<std::string>;
  EXPECT_EQ(normalise_listed_path("/home/u/MAFW/data/frames/02575").components,
            (V{"home", "u", "MAFW", "data", "frames", "02575"}));
  EXPECT_EQ(normalise_listed_path("C:\\Users\\u\\MAFW\\data\\frames\\02575\\").components,
            (V{"Users", "u", "MAFW", "data", "frames", "02575"}));
  EXPECT_EQ(normalise_listed_path("\\\\nas\\share\\MAFW\\data").components, (V{"MAFW", "data"}));
  EXPECT_EQ(normalise_listed_path("//nas/share/MAFW/data").components, (V{"MAFW", "data"}));
  EXPECT_EQ(normalise_listed_path("\\\\?\\D:\\MAFW\\x").components, (V{"MAFW", "x"}));
  EXPECT_EQ(normalise_listed_path("./data//frames/./02575/").components,
            (V{"data", "frames", "02575"}));
  EXPECT_TRUE(normalise_listed_path("D:/x").foreign);
  EXPECT_FALSE(normalise_listed_path("data/x").foreign);
}

TEST(ListedPaths, ReferenceListFromOtherMachinesResolvesUnderRoot) {
  const auto dir = scratch();
  const auto root = dir / "MAFW";
  const std::vector<std::string> names = {"02575", "with space", "Caf\xC3\xA9 \xE6\x84\xA4"};
  for (size_t i = 0; i < names.size(); ++i) {
    write_frames(root / "data" / "frames" / names[i], 3, 16, static_cast<int>(i));
  }
  const std::vector<std::string> forms = {
      "/home/someuser/datasets/MAFW/data/frames/" + names[0],
      "C:\\Users\\me\\MAFW\\data\\frames\\" + names[1] + "\\",
      "\\\\nas\\share\\datasets\\MAFW\\data\\frames\\" + names[2],
      "./data//frames/" + names[0] + "/",
      "data\\frames\\" + names[1],
  };
  for (size_t f = 0; f < forms.size(); ++f) {
    const std::string name = f == 3 ? names[0] : f == 4 ? names[1] : names[f];
    write(root / ("list" + std::to_string(f) + ".txt"),
          forms[f] + " 3 " + std::to_string(f % 2) + (f % 2 ? " Disgust\n" : " Angry\n"));
    ImportOptions o;
    o.root = root.string();
    o.lists = {{"train", (root / ("list" + std::to_string(f) + ".txt")).string()}};
    o.class_names = {"Angry", "Disgust"};
    const auto r = import_dataset("reference-list", o);
    ASSERT_EQ(r.clips.size(), 1u) << forms[f];
    EXPECT_EQ(r.clips[0].clip_id, "data/frames/" + name) << forms[f];
    EXPECT_EQ(r.clips[0].reject_reason, "") << forms[f] << ": " << r.clips[0].reject_detail;
    EXPECT_EQ(r.clips[0].label, static_cast<int>(f % 2));
  }
}

TEST(ListedPaths, CsvAndFerv39kResolveWindowsPathsAndNonUtf8NamesAreReported) {
  const auto dir = scratch();
  const auto root = dir / "root";
  write_frames(root / "a b" / "clip1", 2, 16, 1);
  write_frames(root / std::string("caf\xE9"), 2, 16, 2);  // latin-1 name: not UTF-8
  write(root / "clips.csv", "path,label\r\nE:\\\\old\\\\root\\\\a b\\\\clip1,happy\r\n" +
                                std::string("caf\xE9") + ",sad\r\n");
  ImportOptions o;
  o.root = root.string();
  auto r = import_dataset("csv", o);
  ASSERT_EQ(r.clips.size(), 2u);
  EXPECT_EQ(r.clips[0].clip_id, "a b/clip1");
  EXPECT_EQ(r.clips[0].reject_reason, "");
  EXPECT_EQ(r.clips[1].clip_id, "caf\\xE9");
  EXPECT_EQ(r.clips[1].reject_reason, reason::kNonUtf8Name);

  const auto fr = dir / "ferv";
  write_frames(fr / "2_ClipsforFaceCrop" / "Street" / "Happy" / "0001", 2, 16, 1);
  write(fr / "4_setups" / "All_scenes" / "train_All.csv",
        "D:\\FERV39k\\2_ClipsforFaceCrop\\Street\\Happy\\0001,3\n");
  write(fr / "4_setups" / "All_scenes" / "test_All.csv", "");
  o.root = fr.string();
  r = import_dataset("ferv39k", o);
  ASSERT_EQ(r.clips.size(), 1u);
  EXPECT_EQ(r.clips[0].clip_id, "Street/Happy/0001");
  EXPECT_EQ(r.clips[0].reject_reason, "") << r.clips[0].reject_detail;

  // End to end: the non-UTF-8 clip is a rejection, never a crash; the rest packs.
  const auto out = dir / "out";
  const auto res = run(hesp_pack() + " convert --format csv --root " + q(root) + " --output " +
                       q(out) + " --size 16");
  ASSERT_EQ(res.code, 0) << res.output;
  EXPECT_NE(res.output.find("input 2 = packed 1 + rejected 1"), std::string::npos) << res.output;
  EXPECT_NE(fs::read_file(out / "rejected.tsv").find("non_utf8_name"), std::string::npos);
}

// ---- 5. integrity --------------------------------------------------------------------------

TEST(Integrity, ConflictsLeakageAndDuplicatesAreReportedAndStrictIsFatal) {
  const auto dir = scratch();
  const auto src = dir / "AFEW";
  write_frames(src / "Train_AFEW" / "Happy" / "000000001", 3, 16, 1);
  write_frames(src / "Train_AFEW" / "Sad" / "000000001", 3, 16, 2);  // label conflict
  write_frames(src / "Train_AFEW" / "Fear" / "000000002", 3, 16, 3);
  write_frames(src / "Val_AFEW" / "Fear" / "000000002", 3, 16, 4);  // leakage
  write_frames(src / "Train_AFEW" / "Angry" / "000000003", 3, 16, 5);
  write_frames(src / "Val_AFEW" / "Angry" / "000000004", 3, 16, 5);  // same bytes
  const auto out = dir / "out";
  auto r = run(hesp_pack() + " convert --format afew --root " + q(src) + " --output " + q(out) +
               " --size 16");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("integrity: 1 label conflict(s), 1 leakage, 1 duplicate content"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("input 6 = packed 6 + rejected 0"), std::string::npos) << r.output;
  const std::string report = fs::read_file(out / "integrity.tsv");
  EXPECT_EQ(count_lines(report), 3) << report;
  EXPECT_EQ(
      count_lines(report, "label_conflict\tTrain_AFEW/Sad/000000001\tTrain_AFEW/Happy/000000001"),
      1)
      << report;
  EXPECT_EQ(count_lines(report, "leakage\tVal_AFEW/Fear/000000002\tTrain_AFEW/Fear/000000002"), 1)
      << report;
  EXPECT_EQ(count_lines(report,
                        "duplicate_content\tVal_AFEW/Angry/000000004\tTrain_AFEW/Angry/000000003"),
            1)
      << report;
  r = run(hesp_pack() + " convert --format afew --root " + q(src) + " --output " +
          q(dir / "strict") + " --size 16 --strict");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("label_conflict"), std::string::npos) << r.output;
  EXPECT_FALSE(stdfs::exists(dir / "strict" / "manifest.pbtxt"));
}

TEST(Integrity, ListImportersReportTheSameClipUnderTwoLabelsOrSplits) {
  const auto dir = scratch();
  const auto root = dir / "r";
  write_frames(root / "data" / "frames" / "00001", 3, 16, 1);
  write_frames(root / "data" / "frames" / "00002", 3, 16, 2);
  write(root / "train.txt",
        "data/frames/00001 3 0 Angry\ndata/frames/00002 3 1 Disgust\n"
        "/old/box/data/frames/00002 3 0 Angry\n");
  write(root / "val.txt", "data/frames/00001 3 0 Angry\n");
  ImportOptions o;
  o.root = root.string();
  o.lists = {{"train", (root / "train.txt").string()}, {"val", (root / "val.txt").string()}};
  const auto r = import_dataset("reference-list", o);
  ASSERT_EQ(r.clips.size(), 4u);
  std::multiset<std::string> kinds;
  for (const auto& i : r.issues) kinds.insert(i.kind);
  EXPECT_EQ(kinds.count("label_conflict"), 1u);
  EXPECT_EQ(kinds.count("leakage"), 1u);
  int dups = 0;
  for (const auto& c : r.clips) dups += c.reject_reason == reason::kDuplicateClipId;
  EXPECT_EQ(dups, 2);
}

// ---- 6. a pack that packs nothing ------------------------------------------------------------

TEST(NothingPacked, IsAnErrorWithOneLineSayingWhy) {
  const auto dir = scratch();
  write(dir / "list.txt", "/elsewhere/a 3 0 Angry\n/elsewhere/b 3 0 Angry\n");
  auto r =
      run(hesp_pack() + " convert --format reference-list --root " + q(dir) +
          " --list train=" + q(dir / "list.txt") + " --output " + q(dir / "out") + " --size 16");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("nothing packed: all 2 input clip(s) were rejected (2 missing_folder)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(stdfs::exists(dir / "out" / "manifest.pbtxt"));
  EXPECT_EQ(count_lines(fs::read_file(dir / "out" / "rejected.tsv")), 2);
  stdfs::create_directories(dir / "afew" / "Train_AFEW" / "Happy");
  r = run(hesp_pack() + " convert --format afew --root " + q(dir / "afew") + " --output " +
          q(dir / "out2") + " --size 16");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("nothing to pack"), std::string::npos) << r.output;
}

// ---- 8. truncated shards -------------------------------------------------------------------

TEST(TruncatedShard, IsReportedAsTruncatedByEveryReader) {
  const auto dir = scratch();
  auto r = run(hesp_pack() + " synth --layout dfew --out " + q(dir / "src") +
               " --clips-per-class 1 --frames 4 --size 16");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " convert --format dfew --root " + q(dir / "src") + " --output " +
          q(dir / "out") + " --size 16");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto m = data::read_manifest(dir / "out");
  const auto shard = dir / "out" / m.shards(0).file();
  stdfs::resize_file(shard, stdfs::file_size(shard) / 2);
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { data::ShardReader reader(shard, &m.shards(0)); }).find("truncated"),
            std::string::npos);
  EXPECT_NE(message([&] { data::h5::open_file_read(shard); }).find("is truncated"),
            std::string::npos)
      << message([&] { data::h5::open_file_read(shard); });
  data::DatasetOptions o;
  o.manifests = {dir / "out"};
  o.verify_checksums = false;
  EXPECT_NE(message([&] { data::Dataset ds(o); }).find("truncated"), std::string::npos);
  r = run(hesp_pack() + " verify " + q(dir / "out"));
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hesp::pack::testing
