// Per-rank thread budget (src/util/threads.h): the explicit request, SLURM's
// --cpus-per-task, and the node's cores shared among its local ranks.
#include "util/threads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

namespace hesp::threads {
namespace {

// Sets (or unsets) SLURM_CPUS_PER_TASK for one test and restores it.
class SlurmCpus {
 public:
  explicit SlurmCpus(const char* value) {
    if (const char* old = std::getenv("SLURM_CPUS_PER_TASK")) saved_ = old;
    if (value) {
      setenv("SLURM_CPUS_PER_TASK", value, 1);
    } else {
      unsetenv("SLURM_CPUS_PER_TASK");
    }
  }
  ~SlurmCpus() {
    if (saved_) {
      setenv("SLURM_CPUS_PER_TASK", saved_->c_str(), 1);
    } else {
      unsetenv("SLURM_CPUS_PER_TASK");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(Threads, ExplicitRequestWins) {
  SlurmCpus env("1");
  EXPECT_EQ(threads_per_rank(3, 4), 3);
}

TEST(Threads, CoresSharedAmongLocalRanks) {
  SlurmCpus env(nullptr);
  const int cores = available_cores();
  EXPECT_EQ(threads_per_rank(0, 1), cores);
  EXPECT_EQ(threads_per_rank(0, cores), 1);
  EXPECT_EQ(threads_per_rank(0, 4 * cores), 1) << "never below one thread";
}

TEST(Threads, SlurmCpusPerTaskIsTheTasksShare) {
  const int cores = available_cores();
  {
    SlurmCpus env("1");
    EXPECT_EQ(threads_per_rank(0, 1), 1) << "one CPU per task, whatever the node has";
  }
  {
    SlurmCpus env(std::to_string(cores + 8).c_str());
    EXPECT_EQ(threads_per_rank(0, 1), cores) << "at most the cores this process may use";
  }
  for (const char* bad : {"", "two", "0", "-2", "3x"}) {
    SlurmCpus env(bad);
    EXPECT_EQ(threads_per_rank(0, 1), cores) << "'" << bad << "' is not a CPU count";
  }
}

}  // namespace
}  // namespace hesp::threads
