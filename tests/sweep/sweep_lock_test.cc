// The sweep's folder lock: live holders are named, dead ones (also killed-but-unreaped
// zombies, as a rank of a killed mpirun leaves behind) are stale and taken over.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sweep/sweep_lock.h"
#include "util/errors.h"

namespace hesp::sweep {
namespace {

namespace stdfs = std::filesystem;

stdfs::path lock_file(const std::string& name) {
  const auto dir =
      stdfs::temp_directory_path() / ("hesp_lock_test_" + std::to_string(::getpid()) + "_" + name);
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir / "sweep.lock";
}

void write_holder(const stdfs::path& file, pid_t pid) {
  std::ofstream(file) << pid << " " << this_host() << "\n";
}

TEST(SweepLock, SecondAcquireNamesTheHolderAndReleaseFreesIt) {
  const auto file = lock_file("held");
  auto lock = FileLock::acquire(file, "output directory X");
  try {
    FileLock::acquire(file, "output directory X");
    FAIL() << "a held lock must be refused";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos)
        << e.what();
  }
  lock.reset();
  EXPECT_FALSE(stdfs::exists(file));
  EXPECT_NE(FileLock::acquire(file, "output directory X"), nullptr);
  stdfs::remove_all(file.parent_path());
}

TEST(SweepLock, ZombieAndDeadHoldersAreStale) {
  const auto file = lock_file("zombie");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  // Waits for the child's exit without reaping it (WNOWAIT): a zombie, which kill(pid, 0)
  // still reports as present, however long the child takes to exit.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  ASSERT_EQ(kill(child, 0), 0) << "the zombie should still answer kill(pid, 0)";
  write_holder(file, child);
  EXPECT_EQ(live_lock_holder(file), "") << "a zombie holds nothing";
  EXPECT_NE(FileLock::acquire(file, "output directory X"), nullptr) << "taken over";
  waitpid(child, nullptr, 0);
  write_holder(file, child);  // Reaped: gone entirely.
  EXPECT_EQ(live_lock_holder(file), "");
  stdfs::remove_all(file.parent_path());
}

TEST(SweepLock, LiveHolderOnThisHostIsNamed) {
  const auto file = lock_file("live");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  write_holder(file, child);
  EXPECT_EQ(live_lock_holder(file), "pid " + std::to_string(child) + " on host " + this_host());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(live_lock_holder(file), "");
  stdfs::remove_all(file.parent_path());
}

}  // namespace
}  // namespace hesp::sweep
