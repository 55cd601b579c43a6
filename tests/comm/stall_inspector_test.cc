// The stall inspector names the ranks that have not reached a collective, and per-rank
// logging writes one file per rank with the rank prefix. Runs under mpirun -np 2; as a
// single process it checks that the inspector stays silent.
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "support/log_capture.h"
#include "util/fs.h"
#include "util/logging.h"

namespace hesp::comm {
namespace {

// Whether the late rank's lateness is long enough depends on no clock: it joins only once
// rank 0 has warned (rank 0's log file says so; bounded at 2 minutes).
bool file_has(const std::filesystem::path& file, const std::string& text) {
  std::ifstream in(file);
  std::stringstream all;
  all << in.rdbuf();
  return all.str().find(text) != std::string::npos;
}

TEST(StallInspector, NamesTheLateRank) {
  auto c = world();
  std::string dir =
      c->rank() == 0
          ? (std::filesystem::temp_directory_path() / ("hesp_stall_" + std::to_string(::getpid())))
                .string()
          : std::string();
  c->broadcast_bytes(dir, 0);
  if (c->rank() == 0) logging::configure_for_rank(0, false, dir);
  std::optional<hesp::testing::LogCapture> collector(std::in_place);
  c->set_timeouts({/*stall_warning_s=*/0.3, /*stall_abort_s=*/0, 0});
  const int late = c->size() - 1;
  if (c->rank() == late && c->size() > 1) {
    const auto log = std::filesystem::path(dir) / "logs" / "rank0.log";
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!file_has(log, "ranks that have not reached it") &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  auto t = torch::ones({4});
  c->all_reduce(t, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(t, torch::full({4}, static_cast<float>(c->size()))));
  c->set_timeouts({60, 0, 0});
  const std::string warnings = collector->text();
  collector.reset();
  if (c->rank() == 0) {
    logging::close_rank_file();
    std::filesystem::remove_all(dir);
  }
  if (c->size() == 1) {
    EXPECT_EQ(warnings, "");
  } else if (c->rank() == 0) {
    EXPECT_NE(warnings.find("ranks that have not reached it: " + std::to_string(late)),
              std::string::npos)
        << warnings;
  } else if (c->rank() == late) {
    EXPECT_EQ(warnings.find("stall"), std::string::npos) << "the late rank never waited";
  }
}

TEST(RankLogging, OneFilePerRankWithPrefix) {
  auto c = world();
  std::string dir =
      c->rank() == 0
          ? (std::filesystem::temp_directory_path() / ("hesp_logs_" + std::to_string(::getpid())))
                .string()
          : "";
  c->broadcast_bytes(dir, 0);
  logging::configure_for_rank(c->rank(), false, dir);
  LOG(INFO) << "hello from rank " << c->rank();
  logging::close_rank_file();
  c->barrier();
  const auto file =
      std::filesystem::path(dir) / "logs" / ("rank" + std::to_string(c->rank()) + ".log");
  const std::string text = fs::read_file(file);
  EXPECT_NE(text.find("[rank " + std::to_string(c->rank()) + "] I"), std::string::npos) << text;
  EXPECT_NE(text.find("hello from rank " + std::to_string(c->rank())), std::string::npos);
  c->barrier();
  if (c->rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hesp::comm
