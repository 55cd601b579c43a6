// HDF5 file locking and packed data (docs/datasets.md, "File locking"): several readers
// share a shard; a shard another process holds for writing is reported as locked, named,
// with what to do (never as corrupt); HDF5_USE_FILE_LOCKING=FALSE reads it; a file system
// whose flock() fails (ENOLCK) is read without locking. The other process is real: a
// forked child holding flock() on the shard, the lock HDF5 takes (shared for read-only
// opens, exclusive for writers).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "data/loader/dataset.h"
#include "packer_test_util.h"
#include "util/errors.h"

namespace hesp::pack::testing {
namespace {

// A second process holding flock(op) on `path` until destroyed.
class LockHolder {
 public:
  LockHolder(const stdfs::path& path, int op) {
    int ready[2], release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {  // Child: async-signal-safe calls only.
      ::close(ready[0]);
      ::close(release[1]);
      const int fd = ::open(path.c_str(), O_RDONLY);
      const char ok = fd >= 0 && ::flock(fd, op) == 0 ? 'y' : 'n';
      if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
      char c;
      while (::read(release[0], &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_ = release[1];
    char ok = 'n';
    locked_ = ::read(ready[0], &ok, 1) == 1 && ok == 'y';
    ::close(ready[0]);
  }
  ~LockHolder() {
    if (release_ >= 0) ::close(release_);  // EOF releases the child.
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  bool locked() const { return locked_; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool locked_ = false;
};

class Locking : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch();
    const auto src = dir_ / "src";
    auto r = run(hesp_pack() + " synth --layout afew --out " + q(src) +
                 " --clips-per-class 2 --frames 6 --size 32");
    ASSERT_EQ(r.code, 0) << r.output;
    r = run(hesp_pack() + " convert --format afew --root " + q(src) + " --output " + q(packed()) +
            " --size 32 --frames-per-clip 4 --threads 1");
    ASSERT_EQ(r.code, 0) << r.output;
    shard_ = packed() / data::read_manifest(packed()).shards(0).file();
  }
  stdfs::path packed() const { return dir_ / "packed"; }
  stdfs::path dir_, shard_;
};

void expect_locked_message(const std::string& text, const stdfs::path& shard) {
  EXPECT_NE(text.find("locked by another process"), std::string::npos) << text;
  EXPECT_NE(text.find("HDF5_USE_FILE_LOCKING=FALSE"), std::string::npos) << text;
  EXPECT_NE(text.find(shard.filename().string()), std::string::npos) << text;
  EXPECT_EQ(text.find("corrupt"), std::string::npos) << text;
  EXPECT_EQ(text.find("not written by hesp-pack"), std::string::npos) << text;
}

TEST_F(Locking, ReadersShareAShard) {
  LockHolder reader(shard_, LOCK_SH);  // What an HDF5 read-only open holds.
  ASSERT_TRUE(reader.locked());
  const auto r = run(hesp_pack() + " verify " + q(packed()));
  EXPECT_EQ(r.code, 0) << r.output;
  data::ShardReader in_process(shard_);  // And this process keeps its own open.
  const auto again = run(hesp_pack() + " verify " + q(packed()));
  EXPECT_EQ(again.code, 0) << again.output;
}

TEST_F(Locking, AShardHeldByAWriterIsReportedAsLockedNotCorrupt) {
  LockHolder writer(shard_, LOCK_EX);
  ASSERT_TRUE(writer.locked());
  auto r = run(hesp_pack() + " verify " + q(packed()));
  EXPECT_NE(r.code, 0) << r.output;
  expect_locked_message(r.output, shard_);
  try {
    data::DatasetOptions options;
    options.manifests = {packed()};
    data::Dataset ds(options);
    FAIL() << "a locked shard was opened";
  } catch (const UserError& e) {
    expect_locked_message(e.what(), shard_);
  }
  r = run("HDF5_USE_FILE_LOCKING=FALSE " + hesp_pack() + " verify " + q(packed()));
  EXPECT_EQ(r.code, 0) << r.output;
}

TEST_F(Locking, AFileSystemWithoutFlockIsReadWithoutLocking) {
  const std::string preload = "LD_PRELOAD=" + std::string(HESP_NOFLOCK_SHIM) + " ";
  auto r = run(preload + "flock -s " + q(shard_) + " true");
  ASSERT_NE(r.code, 0) << "the shim does not make flock fail: " << r.output;
  r = run(preload + hesp_pack() + " verify " + q(packed()));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("file locking is not available"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("corrupt"), std::string::npos) << r.output;
}

// Inside one process on such a file system: a shard open twice at once (the loader's
// handle and another reader), and the loader's Dataset reading clips. The test runs itself
// again under the shim (the shim must be preloaded at start).
TEST_F(Locking, OneProcessOpensAShardTwiceWithoutFlock) {
  if (!std::getenv("HESP_NOFLOCK_CHILD")) {
    const auto r =
        run("HESP_NOFLOCK_CHILD=" + q(packed()) + " LD_PRELOAD=" + std::string(HESP_NOFLOCK_SHIM) +
            " " + q(stdfs::read_symlink("/proc/self/exe")) +
            " --gtest_filter=Locking.OneProcessOpensAShardTwiceWithoutFlock");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("[  PASSED  ] 1 test"), std::string::npos) << r.output;
    return;
  }
  const data::ShardReader first(shard_);
  const data::ShardReader second(shard_);
  EXPECT_EQ(first.read_rgb_frames(0), second.read_rgb_frames(0));
  data::DatasetOptions options;
  options.manifests = {packed()};
  const data::Dataset ds(options);
  ASSERT_GT(ds.size(), 1);
  const auto a = ds.read(0);
  const data::ShardReader third(shard_);
  EXPECT_FALSE(ds.read(1).bytes.empty());
  EXPECT_FALSE(a.bytes.empty());
}

}  // namespace
}  // namespace hesp::pack::testing
