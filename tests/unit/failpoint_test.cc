// util/failpoint.h: HESP_FAILPOINTS parsing and actions. Each case runs in a fresh child
// process (death-test style "threadsafe" re-runs the binary), since the variable is read
// once per process.
#include "util/failpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "util/errors.h"

namespace hesp::util {
namespace {

class FailpointTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(FailpointTest, OffWithoutTheVariable) {
  EXPECT_EXIT(
      {
        unsetenv("HESP_FAILPOINTS");
        failpoint("train.checkpoint_saved");
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(FailpointTest, ExitActsAtItsPointOnly) {
  EXPECT_EXIT(
      {
        setenv("HESP_FAILPOINTS", "train.checkpoint_saved=exit(42)", 1);
        failpoint("train.checkpoint_saved");
        _exit(0);
      },
      ::testing::ExitedWithCode(42), "failpoint train.checkpoint_saved: exit\\(42\\)");
}

TEST_F(FailpointTest, MalformedOrUnknownIsAConfigError) {
  for (const char* bad :
       {"train.checkpoint_saved", "nosuch.point=exit(1)", "train.checkpoint_saved=exit(x)",
        "train.checkpoint_saved=pause()", "train.checkpoint_saved=sleep(1)"}) {
    EXPECT_EXIT(
        {
          setenv("HESP_FAILPOINTS", bad, 1);
          try {
            failpoint("train.checkpoint_saved");
          } catch (const ConfigError& e) {
            _exit(e.exit_code());
          }
          _exit(0);
        },
        ::testing::ExitedWithCode(kExitConfigError), "")
        << bad;
  }
}

TEST_F(FailpointTest, PauseHoldsUntilTheReleaseFileOrTheStopPredicate) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("failpoint_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto release = dir / "release";
  // Held until the file exists: a thread makes it after 200 ms; the point returns after.
  EXPECT_EXIT(
      {
        setenv("HESP_FAILPOINTS",
               ("train.checkpoint_saved=pause(" + release.string() + ")").c_str(), 1);
        std::atomic<bool> made{false};
        std::thread maker([&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          made = true;
          std::ofstream(release).put('x');
        });
        failpoint("train.checkpoint_saved");
        const bool ok = made.load();
        maker.join();
        _exit(ok ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
  // Released by the predicate (a stop signal) without the file.
  std::filesystem::remove(release);
  EXPECT_EXIT(
      {
        setenv("HESP_FAILPOINTS",
               ("train.checkpoint_saved=pause(" + release.string() + ")").c_str(), 1);
        std::atomic<bool> stop{false};
        std::thread stopper([&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          stop = true;
        });
        failpoint("train.checkpoint_saved", [&] { return stop.load(); });
        const bool ok = stop.load();
        stopper.join();
        _exit(ok ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hesp::util
