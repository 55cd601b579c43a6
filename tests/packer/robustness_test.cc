// Bad input and bad luck: planted defects end up in rejected.tsv with the right reason,
// --strict fails naming the clip, a SIGKILLed convert resumes reusing complete shards,
// a flipped byte is named by verify, and mpirun -np 2 packs the same dataset as 1 rank.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <thread>

#include "packer_test_util.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

std::string format_args(const std::string& layout, const stdfs::path& src) {
  std::string a = "--format " + layout;
  if (layout == "reference-list") {
    a += " --list train=" + q(src / "train.txt") + " --list val=" + q(src / "val.txt");
  }
  return a;
}

class Defects : public ::testing::TestWithParam<std::string> {};

TEST_P(Defects, EveryPlantedDefectIsRejectedWithItsReason) {
  const std::string layout = GetParam();
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out";
  auto r = run(hesp_pack() + " synth --layout " + layout + " --defects --out " + q(src) +
               " --clips-per-class 2 --frames 10 --size 32");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto expected = read_reasons(src / "expected_rejections.tsv", 1);
  ASSERT_GE(expected.size(), 5u);
  const std::string convert = hesp_pack() + " convert " + format_args(layout, src) + " --root " +
                              q(src) + " --size 32 --frames-per-clip 4 --threads 2";
  r = run(convert + " --output " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto got = read_reasons(out / "rejected.tsv", 2);
  EXPECT_EQ(got, expected);
  const auto m = data::read_manifest(out);
  EXPECT_EQ(m.num_rejected(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(m.num_input_clips(), m.num_clips() + m.num_rejected());
  // Reconciliation line printed for the user.
  EXPECT_NE(r.output.find("input " + std::to_string(m.num_input_clips()) + " = packed " +
                          std::to_string(m.num_clips()) + " + rejected " +
                          std::to_string(m.num_rejected())),
            std::string::npos)
      << r.output;
  // No rejected clip was packed; duplicates keep their first occurrence.
  const auto packed = read_packed(out, false);
  for (const auto& [id, reason] : expected) {
    EXPECT_EQ(packed.count(id), reason == "duplicate_clip_id" ? 1u : 0u) << id << " " << reason;
  }
  // --strict: the same input is fatal, names a rejected clip, and writes no manifest.
  r = run(convert + " --strict --output " + q(dir / "strict"));
  EXPECT_NE(r.code, 0) << r.output;
  bool named = false;
  for (const auto& [id, reason] : expected) named = named || r.output.find(id) != std::string::npos;
  EXPECT_TRUE(named) << r.output;
  EXPECT_FALSE(stdfs::exists(dir / "strict" / "manifest.pbtxt"));
}

INSTANTIATE_TEST_SUITE_P(Layouts, Defects,
                         ::testing::Values("afew", "mafw", "reference-list", "dfew"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n) ch = std::isalnum(ch) ? ch : '_';
                           return n;
                         });

TEST(Defects, MafwCaptionFilesThatAreNotUtf8AreRead) {
  const auto dir = scratch();
  auto r = run(hesp_pack() + " synth --layout mafw --out " + q(dir / "src") +
               " --clips-per-class 1 --frames 6 --size 32");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* labels : {"single", "compound"}) {
    const auto out = dir / (std::string("out-") + labels);
    r = run(hesp_pack() + " convert --format mafw --root " + q(dir / "src") +
            " --mafw-set 2 --mafw-caption with_caption --mafw-labels " + labels + " --output " +
            q(out) + " --size 32 --frames-per-clip 3 --strict");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto m = data::read_manifest(out);
    EXPECT_EQ(m.num_clips(), 11);
    EXPECT_EQ(m.splits_size(), 2);
    EXPECT_EQ(m.splits(0), "set_2/test");
    for (const auto& [id, c] : read_packed(out, false)) {
      EXPECT_EQ(c.record.split, (std::stoi(id) - 1) % 5 == 1 ? "set_2/test" : "set_2/train") << id;
      if (std::string(labels) == "compound") {
        EXPECT_EQ(m.class_names(c.record.label), c.record.compound_label);
      }
    }
  }
}

ino_t inode_of(const stdfs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_ino;
}

int count_sidecars(const stdfs::path& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    n += name.size() > 11 && name.substr(name.size() - 11) == ".clips.json";
  }
  return n;
}

TEST(Resume, KilledConvertResumesReusingCompleteShards) {
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out", clean = dir / "clean";
  auto r = run(hesp_pack() + " synth --layout reference-list --out " + q(src) +
               " --clips-per-class 3 --frames 10 --size 64 --defects");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string args = format_args("reference-list", src) + " --root " + q(src) +
                           " --size 96 --frames-per-clip 8 --encoding raw --shard-size-mb 1 "
                           "--threads 1";
  // 96*96*3*8 bytes per clip: 4 clips per 1 MiB shard, ~9 shards for 33 clips.
  // The child holds after its first complete shard (failpoint pack.shard_written; the
  // release file is never made) and is killed there: it cannot finish first, however fast
  // the machine.
  const stdfs::path never = dir / "never-released";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("HESP_FAILPOINTS", ("pack.shard_written=pause(" + never.string() + ")").c_str(), 1);
    const std::string cmd = hesp_pack() + " convert " + args + " --output " + q(out) + " > " +
                            q(dir / "killed.log") + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_sidecars(out) < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "convert finished before it could be killed";
  ASSERT_FALSE(stdfs::exists(out / "manifest.pbtxt"));
  const int complete = count_sidecars(out);
  ASSERT_EQ(complete, 1);
  const auto first = out / "shard-00000.h5";
  const ino_t inode = inode_of(first);
  const auto mtime = stdfs::last_write_time(first);

  r = run(hesp_pack() + " convert " + args + " --output " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(" + std::to_string(complete) + " reused)"), std::string::npos)
      << r.output;
  EXPECT_EQ(inode_of(first), inode) << "complete shard was rewritten";
  EXPECT_EQ(stdfs::last_write_time(first), mtime);
  for (const auto& e : stdfs::directory_iterator(out)) {
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << e.path();
  }
  r = run(hesp_pack() + " verify " + q(out));
  EXPECT_EQ(r.code, 0) << r.output;

  // Exactly the dataset an uninterrupted run produces.
  r = run(hesp_pack() + " convert " + args + " --output " + q(clean));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto a = data::read_manifest(out), b = data::read_manifest(clean);
  EXPECT_EQ(a.num_clips(), b.num_clips());
  EXPECT_EQ(a.num_rejected(), b.num_rejected());
  EXPECT_EQ(a.shards_size(), b.shards_size());
  EXPECT_EQ(a.num_clips(), 33);
  const auto pa = read_packed(out), pb = read_packed(clean);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [id, c] : pa) {
    ASSERT_TRUE(pb.count(id)) << id;
    EXPECT_EQ(c.record, pb.at(id).record) << id;
    EXPECT_EQ(c.rgb, pb.at(id).rgb) << id;
  }
  EXPECT_EQ(fs::read_file(out / "rejected.tsv"), fs::read_file(clean / "rejected.tsv"));
}

TEST(Verify, FlippedByteIsNamed) {
  const auto dir = scratch();
  auto r = run(hesp_pack() + " synth --layout dfew --out " + q(dir / "src") +
               " --clips-per-class 4 --frames 8 --size 48");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " convert --format dfew --root " + q(dir / "src") + " --output " +
          q(dir / "out") + " --size 48 --frames-per-clip 4");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(hesp_pack() + " verify " + q(dir / "out"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto shard = dir / "out" / "shard-00000.h5";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = stdfs::file_size(shard);
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5A);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  for (const char* mode : {"", " --quick"}) {
    r = run(hesp_pack() + " verify " + q(dir / "out") + mode);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("shard-00000.h5"), std::string::npos) << r.output;
  }
}

// Run by ctest after packer_mpi_setup (1 rank) and packer_mpi_convert (mpirun -np 2).
TEST(MpiPack, TwoRanksPackTheSameDatasetAsOne) {
  const stdfs::path base = stdfs::path(HESP_BINARY_DIR) / "packer-tests" / "mpi";
  if (!stdfs::exists(base / "np2" / "manifest.pbtxt")) {
    GTEST_SKIP() << "no mpirun -np 2 output (mpirun missing?)";
  }
  auto a = data::read_manifest(base / "np1"), b = data::read_manifest(base / "np2");
  EXPECT_GE(b.shards_size(), 2);
  for (const auto& s : b.shards()) EXPECT_EQ(s.file().rfind("shard-r", 0), 0u) << s.file();
  // Everything but timestamps and shard naming.
  for (auto* m : {&a, &b}) {
    m->clear_created_utc();
    m->clear_shards();
  }
  EXPECT_EQ(data::manifest_to_text(a), data::manifest_to_text(b));
  const auto pa = read_packed(base / "np1"), pb = read_packed(base / "np2");
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [id, c] : pa) {
    ASSERT_TRUE(pb.count(id)) << id;
    EXPECT_EQ(c.record, pb.at(id).record) << id;
    EXPECT_EQ(c.rgb, pb.at(id).rgb) << id;
  }
  EXPECT_EQ(fs::read_file(base / "np1" / "rejected.tsv"),
            fs::read_file(base / "np2" / "rejected.tsv"));
  EXPECT_GT(a.num_rejected(), 0);
}

}  // namespace
}  // namespace hesp::pack::testing
