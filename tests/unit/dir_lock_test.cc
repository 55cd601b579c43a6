// One writer per folder (util/dir_lock.h). The holders here are real processes (fork):
// a live one is refused and named, one that died (also killed-but-unreaped zombies, as a
// rank of a killed mpirun leaves behind) is taken over, and a record of another host counts
// as live while it is renewed (file systems whose locks are not shared between hosts).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "util/dir_lock.h"
#include "util/errors.h"

namespace hesp::util {
namespace {

namespace stdfs = std::filesystem;

stdfs::path lock_file(const std::string& name) {
  const auto dir =
      stdfs::temp_directory_path() / ("hesp_lock_test_" + std::to_string(::getpid()) + "_" + name);
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir / "run.lock";
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_record(const stdfs::path& file, long pid, const std::string& host, int64_t renewed) {
  std::ofstream(file) << "pid=" << pid << " host=" << host << " start=2026-01-01T00:00:00Z"
                      << " renewed=" << renewed << " seq=0\n";
}

// Waits until `file` names `pid` (the child took the lock).
void wait_for_holder(const stdfs::path& file, pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto r = parse_lock_record(text);
    if (r && r->pid == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "the child never took the lock " << file;
}

std::string refusal(const stdfs::path& file) {
  try {
    FileLock::acquire(file, "run directory X");
  } catch (const UserError& e) {
    EXPECT_EQ(e.exit_code(), kExitLocked) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "a held lock must be refused";
  return "";
}

TEST(DirLock, RecordRoundTrips) {
  const auto r = parse_lock_record("pid=12 host=node-3 start=2026-12-04T21:00:00Z renewed=99\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, 12);
  EXPECT_EQ(r->host, "node-3");
  EXPECT_EQ(r->renewed, 99);
  EXPECT_EQ(r->describe(), "pid 12 on host node-3 since 2026-12-04T21:00:00Z");
  EXPECT_FALSE(parse_lock_record(""));
  EXPECT_FALSE(parse_lock_record("12 node-3"));  // The old "pid host" lock of sweeps.
  EXPECT_FALSE(parse_lock_record("pid=12 host=node-3"));
}

TEST(DirLock, SecondAcquireInThisProcessIsRefusedAndReleaseFreesIt) {
  const auto file = lock_file("held");
  auto lock = FileLock::acquire(file, "run directory X");
  const std::string why = refusal(file);
  EXPECT_NE(why.find("run directory X is in use by pid " + std::to_string(::getpid()) +
                     " on host " + this_host() + " since "),
            std::string::npos)
      << why;
  EXPECT_NE(why.find(file.string()), std::string::npos) << why;
  EXPECT_EQ(live_lock_holder(file).rfind("pid " + std::to_string(::getpid()), 0), 0u);
  lock.reset();
  EXPECT_FALSE(stdfs::exists(file));
  EXPECT_EQ(live_lock_holder(file), "");
  EXPECT_NE(FileLock::acquire(file, "run directory X"), nullptr);
  stdfs::remove_all(file.parent_path());
}

// A second process, alive and holding the lock, is named; killed with SIGKILL (no chance to
// clean up: its record stays), its lock is free and taken over.
TEST(DirLock, LiveHolderProcessIsNamedAndItsDeathFreesTheLock) {
  const auto file = lock_file("live");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = FileLock::acquire(file, "run directory X");
    pause();
    _exit(0);
  }
  wait_for_holder(file, child);
  const std::string why = refusal(file);
  EXPECT_NE(why.find("in use by pid " + std::to_string(child) + " on host " + this_host()),
            std::string::npos)
      << why;
  EXPECT_EQ(live_lock_holder(file).rfind("pid " + std::to_string(child) + " on host ", 0), 0u);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(stdfs::exists(file)) << "a killed holder leaves its record";
  EXPECT_EQ(live_lock_holder(file), "");
  auto lock = FileLock::acquire(file, "run directory X");
  ASSERT_NE(lock, nullptr);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto r = parse_lock_record(text);
  ASSERT_TRUE(r) << text;
  EXPECT_EQ(r->pid, ::getpid()) << "the record names the new holder";
  stdfs::remove_all(file.parent_path());
}

TEST(DirLock, ZombieHolderIsStale) {
  const auto file = lock_file("zombie");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = FileLock::acquire(file, "run directory X");
    _exit(0);  // No destructor: the record stays; the process is a zombie until reaped.
  }
  wait_for_holder(file, child);
  // Waits for the child's exit without reaping it (WNOWAIT): a zombie, which kill(pid, 0)
  // still reports as present. The group leader is reported only once every thread has
  // ended, so its files (and flock) are closed by then, however long that takes.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(live_lock_holder(file).empty()) << "a zombie holds nothing";
  ASSERT_EQ(kill(child, 0), 0) << "the zombie should still answer kill(pid, 0)";
  EXPECT_NE(FileLock::acquire(file, "run directory X"), nullptr) << "taken over";
  waitpid(child, nullptr, 0);
  stdfs::remove_all(file.parent_path());
}

// Short clocks for the tests of renewals (the defaults are 30 s, 300 s, 45 s).
LockTiming fast() {
  LockTiming t;
  t.renew = std::chrono::milliseconds(50);
  t.lease = std::chrono::milliseconds(5000);
  t.watch = std::chrono::milliseconds(600);
  return t;
}

TEST(DirLock, TheHolderRenewsItsRecord) {
  const auto file = lock_file("renew");
  auto lock = FileLock::acquire(file, "run directory X", fast());
  auto read = [&] {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_lock_record(text);
  };
  const auto first = read();
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto later = read();
  ASSERT_TRUE(later);
  EXPECT_GT(later->seq, first->seq);
  EXPECT_EQ(later->start, first->start);
  lock.reset();
  stdfs::remove_all(file.parent_path());
}

// Where locks are not shared between hosts (NFS with nolock) the flock is free although a
// process on another host holds the folder. Its record is watched: renewed, the holder is
// alive and named; not renewed within the watch, or older than the lease, it is gone.
TEST(DirLock, AnotherHostsRecordIsLiveWhileRenewed) {
  const auto file = lock_file("other_host");
  const pid_t child = fork();  // "Another host": renews a record, holds no flock.
  ASSERT_GE(child, 0);
  if (child == 0) {
    // In place, one write of a fixed length each time (as the holder does: a reader never
    // sees the file empty).
    const int fd = open(file.c_str(), O_WRONLY | O_CREAT, 0644);
    for (int seq = 0;; ++seq) {
      char line[160];
      const int n = std::snprintf(line, sizeof(line),
                                  "pid=4242 host=some-other-node start=2026-01-01T00:00:00Z "
                                  "renewed=%lld seq=%08d\n",
                                  static_cast<long long>(now_s()), seq);
      if (pwrite(fd, line, static_cast<size_t>(n), 0) != n) _exit(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string why;
  try {
    FileLock::acquire(file, "run directory X", fast());
    ADD_FAILURE() << "a renewed record of another host must be refused";
  } catch (const UserError& e) {
    EXPECT_EQ(e.exit_code(), kExitLocked);
    why = e.what();
  }
  EXPECT_NE(why.find("in use by pid 4242 on host some-other-node since"), std::string::npos) << why;
  EXPECT_EQ(live_lock_holder(file, fast()).rfind("pid 4242 on host some-other-node", 0), 0u);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // The same host stopped renewing (its node is gone): taken over after the watch.
  write_record(file, 4242, "some-other-node", now_s());
  EXPECT_NE(FileLock::acquire(file, "run directory X", fast()), nullptr);
  // Older than the lease: stale without a watch, also for live_lock_holder.
  write_record(file, 4242, "some-other-node", now_s() - 60);
  EXPECT_EQ(live_lock_holder(file, fast()), "");
  LockTiming no_watch = fast();
  no_watch.watch = std::chrono::milliseconds(600'000);  // Would block 10 min if watched.
  EXPECT_NE(FileLock::acquire(file, "run directory X", no_watch), nullptr);
  stdfs::remove_all(file.parent_path());
}

// A record of this host is never trusted over the flock: the flock is exact here.
TEST(DirLock, ThisHostsRecordWithoutFlockIsStale) {
  const auto file = lock_file("this_host");
  write_record(file, ::getppid(), this_host(), now_s());  // A live pid, but no flock.
  EXPECT_EQ(live_lock_holder(file), "");
  EXPECT_NE(FileLock::acquire(file, "run directory X"), nullptr);
  stdfs::remove_all(file.parent_path());
}

// Without flock: ctest unit.dir_lock_noflock runs these under an LD_PRELOAD shim whose
// flock() fails with ENOLCK, as on NFS without a lock manager. The lock is then an
// exclusively created file with the renewed record.
bool flock_fails_with_enolck() {
  const int fd = open("/", O_RDONLY);
  const int r = flock(fd, LOCK_EX | LOCK_NB);
  const int err = errno;
  close(fd);
  return r != 0 && err == ENOLCK;
}

TEST(DirLockNoFlock, OneHolderAtATimeAndADeadOneIsTakenOver) {
  ASSERT_TRUE(flock_fails_with_enolck()) << "not under the noflock shim";
  const auto file = lock_file("noflock");
  {
    auto held = FileLock::acquire(file, "run directory X");
    ASSERT_NE(held, nullptr);
    EXPECT_NE(live_lock_holder(file), "");
    // Another process is refused, naming this one.
    const pid_t other = fork();
    ASSERT_GE(other, 0);
    if (other == 0) {
      try {
        FileLock::acquire(file, "run directory X");
      } catch (const UserError& e) {
        const std::string want = "pid " + std::to_string(getppid());
        _exit(std::string(e.what()).find(want) != std::string::npos ? e.exit_code() : 1);
      }
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(other, &status, 0), other);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), kExitLocked);
  }
  EXPECT_FALSE(stdfs::exists(file)) << "released: the lock file is removed";
  // A holder killed with -9 leaves its file; the next process takes it over.
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    auto lock = FileLock::acquire(file, "run directory X");
    for (;;) pause();
  }
  wait_for_holder(file, holder);
  kill(holder, SIGKILL);
  ASSERT_EQ(waitpid(holder, nullptr, 0), holder);
  EXPECT_EQ(live_lock_holder(file), "") << "a dead holder holds nothing";
  auto mine = FileLock::acquire(file, "run directory X");
  ASSERT_NE(mine, nullptr);
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto r = parse_lock_record(text);
  ASSERT_TRUE(r) << text;
  EXPECT_EQ(r->pid, ::getpid());
  mine.reset();
  stdfs::remove_all(file.parent_path());
}

}  // namespace
}  // namespace hesp::util
