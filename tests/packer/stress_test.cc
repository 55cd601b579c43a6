// Stress: random trees of broken inputs (damaged and hostile images, garbage videos, litter,
// names that are not UTF-8, text files in any encoding) through every importer and the
// decode path on two threads, many times: nothing may crash, abort or throw anything but a
// UserError from an importer; every clip is packed or rejected with a reason. A few runs go
// through the hesp-pack binary as well (exit 0, 1 or 2, never a signal), with the
// reconciliation line and integrity report checked.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "data/format/jpeg_codec.h"
#include "importers.h"
#include "media/frame_source.h"
#include "packer_test_util.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

void write(const stdfs::path& p, const std::string& bytes) {
  std::error_code ec;
  stdfs::create_directories(p.parent_path(), ec);
  std::ofstream(p, std::ios::binary) << bytes;
}

class TreeMaker {
 public:
  explicit TreeMaker(uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string random_bytes(size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(pick(256));
    return s;
  }

  std::string good_jpeg(int S) {
    std::vector<uint8_t> rgb(static_cast<size_t>(S) * S * 3);
    for (auto& v : rgb) v = static_cast<uint8_t>(pick(256));
    return data::jpeg::encode_rgb(rgb.data(), S, S, 80);
  }

  // One frame file's bytes, good or broken in one of many ways.
  std::string frame() {
    const std::string j = good_jpeg(8 + pick(3) * 8);
    switch (pick(12)) {
      case 0:
        return j.substr(0, static_cast<size_t>(pick(static_cast<int>(j.size()))));
      case 1:
        return "\xFF\xD8\xFF" + random_bytes(static_cast<size_t>(pick(400)));
      case 2:
        return random_bytes(static_cast<size_t>(pick(200)));
      case 3:
        return "";
      case 4:
        return "\x89PNG\r\n\x1a\n" + random_bytes(static_cast<size_t>(pick(200)));
      case 5: {  // Flipped bytes inside the entropy-coded data.
        std::string s = j;
        for (int k = 0; k < 4; ++k) s[s.size() / 2 + static_cast<size_t>(pick(40))] ^= 0x5A;
        return s;
      }
      case 6: {  // A header claiming an enormous image.
        std::string s = j;
        const size_t sof = s.find("\xFF\xC0");
        if (sof != std::string::npos && sof + 9 < s.size()) {
          s[sof + 5] = s[sof + 6] = s[sof + 7] = s[sof + 8] = '\xFD';
        }
        return s;
      }
      case 7:
        return j + random_bytes(static_cast<size_t>(pick(100)));
      default:
        return j;
    }
  }

  std::string name_part() {
    static const std::vector<std::string> parts = {
        "a", "clip 1", "Caf\xC3\xA9", "caf\xE9", "._x", ".DS_Store", "@eaDir", "x~", "\xFF\xFE"};
    return parts[static_cast<size_t>(pick(static_cast<int>(parts.size())))];
  }

  void frame_folder(const stdfs::path& dir) {
    const int n = pick(6);
    for (int k = 1; k <= n; ++k) {
      const int number = pick(8) == 0 ? k + 2 : k;  // sometimes a gap
      const char* ext = pick(6) == 0 ? ".png" : ".jpg";
      write(dir / (std::to_string(number) + ext), frame());
    }
    if (pick(3) == 0) write(dir / "._1.jpg", random_bytes(64));
    if (pick(5) == 0) {
      std::error_code ec;
      stdfs::create_directories(dir / "7.jpg", ec);  // a folder named like a frame
    }
    if (pick(5) == 0) {
      std::error_code ec;
      stdfs::create_symlink(dir / "nowhere", dir / "8.jpg", ec);
    }
  }

  std::string text(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + (pick(2) ? "\r\n" : "\n");
    switch (pick(6)) {
      case 0:
        return "\xEF\xBB\xBF" + s;
      case 1: {
        std::string u = "\xFF\xFE";
        for (char c : s) u += std::string(1, c) + '\0';
        return u;
      }
      case 2:
        return s + random_bytes(static_cast<size_t>(pick(40)));
      default:
        return s;
    }
  }

  // AFEW tree, a CSV and a reference list over the same clip folders.
  void tree(const stdfs::path& root) {
    std::vector<std::string> csv = {"path,label,split"}, ref;
    const char* classes[] = {"Angry", "Happy", "Sad", "Nope"};
    for (int i = 0; i < 6; ++i) {
      const std::string split = pick(2) ? "Train_AFEW" : "Val_AFEW";
      const std::string cls = classes[pick(4)];
      const std::string id = (pick(4) == 0 ? name_part() : std::string()) + std::to_string(i);
      const auto rel = stdfs::path(split) / cls / id;
      if (pick(4) == 0) {
        write(root / rel.parent_path() / (id + ".avi"),
              pick(2) ? random_bytes(static_cast<size_t>(pick(3000))) : std::string());
      } else {
        frame_folder(root / rel);
      }
      csv.push_back(rel.generic_string() + "," + cls + "," + split);
      ref.push_back((pick(2) ? "/foreign/box/" : "C:\\data\\") + rel.generic_string() + " " +
                    std::to_string(pick(6)) + " " + std::to_string(pick(3)) + " " + cls);
    }
    if (pick(2)) write(root / "Train_AFEW" / "Happy" / "._0.avi", random_bytes(100));
    write(root / "clips.csv", text(csv));
    write(root / "list.txt", text(ref));
  }

 private:
  std::mt19937 rng_;
};

void pack_all(const ImportResult& r, const data::PackParams& params) {
  std::atomic<size_t> next{0};
  std::atomic<int> unexplained{0};
  auto work = [&] {
    for (size_t i; (i = next++) < r.clips.size();) {
      const PackedClip p = pack_clip(r.clips[i], params);
      // Packed (>= 1 frame) or rejected with a reason: never neither.
      if (p.reject_reason.empty() == (p.stored_frames == 0)) ++unexplained;
    }
  };
  std::thread t(work);
  work();
  t.join();
  EXPECT_EQ(unexplained.load(), 0);
}

TEST(Stress, RandomBrokenTreesNeverCrashTheImportersOrTheDecoder) {
  const auto dir = scratch();
  data::PackParams params;
  params.set_size(16);
  params.set_frames_per_clip(3);
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    const auto root = dir / std::to_string(seed);
    TreeMaker(seed).tree(root);
    for (const std::string format : {"afew", "csv", "reference-list"}) {
      ImportOptions o;
      o.root = root.string();
      o.lists = {{"train", (root / "list.txt").string()}};
      o.class_names = {"Angry", "Happy", "Sad"};
      ImportResult r;
      try {
        r = import_dataset(format, o);
      } catch (const UserError&) {
        continue;  // e.g. a list in an encoding that is refused: a message, not a crash
      }
      pack_all(r, params);
    }
    stdfs::remove_all(root);
  }
}

TEST(Stress, BinaryOnBrokenTreesExitsCleanlyAndReconciles) {
  const auto dir = scratch();
  for (uint32_t seed = 100; seed < 104; ++seed) {
    const auto root = dir / std::to_string(seed), out = dir / (std::to_string(seed) + "-out");
    TreeMaker(seed).tree(root);
    const auto r = run(hesp_pack() + " convert --format afew --root " + q(root) + " --output " +
                       q(out) + " --size 16 --frames-per-clip 3 --threads 2");
    ASSERT_LE(r.code, 2) << "seed " << seed << " exit " << r.code << "\n" << r.output;
    if (r.code == 0) {
      const auto m = data::read_manifest(out);
      EXPECT_EQ(m.num_input_clips(), m.num_clips() + m.num_rejected());
      EXPECT_TRUE(stdfs::exists(out / "integrity.tsv"));
      EXPECT_NE(r.output.find("input " + std::to_string(m.num_input_clips()) + " = packed"),
                std::string::npos)
          << r.output;
    } else {
      EXPECT_NE(r.output.find("hesp-pack: "), std::string::npos) << r.output;
    }
  }
}

}  // namespace
}  // namespace hesp::pack::testing
