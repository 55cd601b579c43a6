// One writer per folder (util/dir_lock.h). The holders here are real processes (fork):
// a live one is refused and named, one that died (also killed-but-unreaped zombies, as a
// rank of a killed mpirun leaves behind) is taken over, and a record of another host counts
// as live while it is renewed (file systems whose locks are not shared between hosts).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "util/dir_lock.h"
#include "util/errors.h"
#include "util/fs.h"

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
                      << " renewed=" << renewed << "\n";
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
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    std::getline(stat, line);
    if (line.find(") Z") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(child, 0), 0) << "the zombie should still answer kill(pid, 0)";
  EXPECT_EQ(live_lock_holder(file), "") << "a zombie holds nothing";
  EXPECT_NE(FileLock::acquire(file, "run directory X"), nullptr) << "taken over";
  waitpid(child, nullptr, 0);
  stdfs::remove_all(file.parent_path());
}

// Where locks are not shared between hosts (NFS with nolock) the flock is free although a
// process on another host holds the folder: its renewed record is trusted until the lease
// runs out, then taken over.
TEST(DirLock, AnotherHostsRecordCountsWhileRenewed) {
  const auto file = lock_file("other_host");
  write_record(file, 4242, "some-other-node", now_s() - 10);
  const std::string why = refusal(file);
  EXPECT_NE(why.find("in use by pid 4242 on host some-other-node"), std::string::npos) << why;
  EXPECT_NE(why.find("expires in"), std::string::npos) << why;
  EXPECT_EQ(live_lock_holder(file).rfind("pid 4242 on host some-other-node", 0), 0u);
  write_record(file, 4242, "some-other-node", now_s() - kLeaseSeconds - 5);
  EXPECT_EQ(live_lock_holder(file), "");
  EXPECT_NE(FileLock::acquire(file, "run directory X"), nullptr) << "an expired lease is stale";
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

}  // namespace
}  // namespace hesp::util
