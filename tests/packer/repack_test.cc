// The re-pack rule (docs/datasets.md, "Packing again after the sources change"): the same
// `hesp-pack convert` run again after source clips were re-extracted, repaired, added or
// removed re-packs exactly the clips whose sources changed, retries a repaired rejected
// clip, drops clips whose sources are gone, says so in one line, and gives the dataset a
// fresh convert of the edited tree gives.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "packer_test_util.h"
#include "util/fs.h"

namespace hesp::pack::testing {
namespace {

struct Counts {
  long long reused = -1, repacked = -1, fresh = -1, removed = -1;
};

Counts counts_of(const std::string& output) {
  static const std::regex re(
      R"(reused (\d+), re-packed (\d+) \(sources changed\), new (\d+), removed (\d+))");
  std::smatch m;
  Counts c;
  if (std::regex_search(output, m, re)) {
    c = {std::stoll(m[1]), std::stoll(m[2]), std::stoll(m[3]), std::stoll(m[4])};
  }
  return c;
}

ino_t inode_of(const stdfs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_ino;
}

void expect_same_dataset(const stdfs::path& a, const stdfs::path& b) {
  const auto ma = data::read_manifest(a), mb = data::read_manifest(b);
  EXPECT_EQ(ma.num_clips(), mb.num_clips());
  EXPECT_EQ(ma.num_rejected(), mb.num_rejected());
  EXPECT_EQ(ma.num_input_clips(), ma.num_clips() + ma.num_rejected());
  const auto pa = read_packed(a), pb = read_packed(b);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& [id, c] : pa) {
    ASSERT_TRUE(pb.count(id)) << id;
    EXPECT_EQ(c.record, pb.at(id).record) << id;
    EXPECT_TRUE(c.rgb == pb.at(id).rgb) << id;
  }
  EXPECT_EQ(fs::read_file(a / "rejected.tsv"), fs::read_file(b / "rejected.tsv"));
  // Clip order (the loader's clip index) is the import order in both.
  auto order = [](const stdfs::path& dir, const data::Manifest& m) {
    std::vector<std::string> ids;
    for (const auto& s : m.shards()) {
      const data::ShardReader reader(dir / s.file());
      for (const auto& r : reader.records()) ids.push_back(r.clip_id);
    }
    return ids;
  };
  const auto oa = order(a, ma), ob = order(b, mb);
  EXPECT_EQ(oa, ob);
}

TEST(Repack, FollowsItsSources) {
  const auto dir = scratch();
  const auto src = dir / "src", out = dir / "out", fresh = dir / "fresh";
  auto r = run(hesp_pack() + " synth --layout afew --defects --out " + q(src) +
               " --clips-per-class 3 --frames 10 --size 48 --seed 5");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string convert = hesp_pack() + " convert --format afew --root " + q(src) +
                              " --size 48 --frames-per-clip 6 --shard-size-mb 1 --threads 2";
  r = run(convert + " --output " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto m0 = data::read_manifest(out);
  const long long input0 = m0.num_input_clips();
  Counts c = counts_of(r.output);
  EXPECT_EQ(c.reused, 0) << r.output;
  EXPECT_EQ(c.repacked, 0) << r.output;
  EXPECT_EQ(c.fresh, input0) << r.output;
  EXPECT_EQ(c.removed, 0) << r.output;
  const auto before = read_packed(out);

  // Unchanged sources: everything reused, the shards kept as they are.
  const ino_t inode = inode_of(out / m0.shards(0).file());
  r = run(convert + " --output " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  c = counts_of(r.output);
  EXPECT_EQ(c.reused, input0) << r.output;
  EXPECT_EQ(c.repacked + c.fresh + c.removed, 0) << r.output;
  EXPECT_EQ(inode_of(out / m0.shards(0).file()), inode) << "an unchanged shard was rewritten";

  // The edits. (1) One clip's frames re-extracted with different content; another's
  // re-extracted with the same bytes (new mtimes only: not a change).
  const auto train = src / "Train_AFEW";
  std::vector<stdfs::path> angry, happy, sad;
  for (const auto& e : stdfs::directory_iterator(train / "Angry")) angry.push_back(e.path());
  for (const auto& e : stdfs::directory_iterator(train / "Happy")) happy.push_back(e.path());
  for (const auto& e : stdfs::directory_iterator(train / "Sad")) sad.push_back(e.path());
  std::sort(angry.begin(), angry.end());
  std::sort(happy.begin(), happy.end());
  std::sort(sad.begin(), sad.end());
  ASSERT_GE(angry.size(), 3u);  // Two clips and the empty-folder defect.
  ASSERT_GE(sad.size(), 3u);
  const stdfs::path re_extracted = angry[0], touched = happy[0];
  ASSERT_TRUE(stdfs::is_directory(re_extracted / "")) << re_extracted;
  for (const auto& e : stdfs::directory_iterator(re_extracted)) {
    const auto other = sad[0] / e.path().filename();
    if (stdfs::exists(other)) {
      stdfs::copy_file(other, e.path(), stdfs::copy_options::overwrite_existing);
    }
  }
  for (const auto& e : stdfs::directory_iterator(touched)) {
    const std::string bytes = fs::read_file(e.path());
    stdfs::remove(e.path());
    fs::atomic_write_file(e.path(), bytes);
  }
  // (2) The frame-gap defect repaired: its missing frame extracted.
  const auto gap = train / "Fear" / "900000003";
  stdfs::copy_file(gap / "2.jpg", gap / "3.jpg");
  // (3) A new clip. (4) A clip whose sources are gone.
  const auto added = train / "Sad" / "800000001";
  stdfs::create_directories(added);
  for (const auto& e : stdfs::directory_iterator(sad[1])) {
    stdfs::copy_file(e.path(), added / e.path().filename());
  }
  stdfs::copy_file(angry[1] / "1.jpg", added / "1.jpg", stdfs::copy_options::overwrite_existing);
  stdfs::remove_all(sad[2]);

  r = run(convert + " --output " + q(out));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto m1 = data::read_manifest(out);
  c = counts_of(r.output);
  EXPECT_EQ(c.repacked, 2) << r.output;  // The re-extracted clip and the repaired one.
  EXPECT_EQ(c.fresh, 1) << r.output;
  EXPECT_EQ(c.removed, 1) << r.output;
  EXPECT_EQ(c.reused + c.repacked + c.fresh, m1.num_input_clips()) << r.output;
  EXPECT_EQ(m1.num_input_clips(), input0);  // One added, one removed.
  EXPECT_EQ(m1.num_input_clips(), m1.num_clips() + m1.num_rejected());
  EXPECT_EQ(m1.num_rejected(), m0.num_rejected() - 1);
  EXPECT_NE(r.output.find("input " + std::to_string(m1.num_input_clips()) + " = packed " +
                          std::to_string(m1.num_clips()) + " + rejected " +
                          std::to_string(m1.num_rejected())),
            std::string::npos)
      << r.output;
  const std::string id_changed = "Train_AFEW/Angry/" + re_extracted.filename().string();
  const std::string id_gap = "Train_AFEW/Fear/900000003";
  EXPECT_NE(r.output.find(id_changed), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(id_gap), std::string::npos) << r.output;

  const auto after = read_packed(out);
  ASSERT_TRUE(after.count(id_changed));
  EXPECT_FALSE(after.at(id_changed).rgb == before.at(id_changed).rgb) << "stale frames kept";
  EXPECT_TRUE(after.count(id_gap)) << "the repaired clip stays rejected";
  EXPECT_TRUE(after.count("Train_AFEW/Sad/800000001"));
  EXPECT_FALSE(after.count("Train_AFEW/Sad/" + sad[2].filename().string()));
  const std::string id_touched = "Train_AFEW/Happy/" + touched.filename().string();
  EXPECT_TRUE(after.at(id_touched).rgb == before.at(id_touched).rgb);
  EXPECT_EQ(read_reasons(out / "rejected.tsv", 2).count(id_gap), 0u);

  // Exactly what a fresh convert of the edited tree gives, and it verifies.
  r = run(convert + " --output " + q(fresh));
  ASSERT_EQ(r.code, 0) << r.output;
  expect_same_dataset(out, fresh);
  r = run(hesp_pack() + " verify " + q(out));
  EXPECT_EQ(r.code, 0) << r.output;
}

}  // namespace
}  // namespace hesp::pack::testing
