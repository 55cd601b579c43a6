#pragma once
// The gtest main of binaries that run both as one process and under `mpirun -np N`:
// every rank runs every test, and the exit status is the worst over ranks (mpirun would
// otherwise report whatever rank 0 returned).
#include <functional>

#include "comm/communicator.h"

namespace hesp::testing {

struct MpiGtestOptions {
  bool log_all_ranks = false;
  // Returned instead of 0 when every test skipped (ctest's SKIP_RETURN_CODE), e.g. a GPU
  // test on a machine without one; 0 = report success.
  int all_skipped_code = 0;
  // Before RUN_ALL_TESTS (e.g. stall timeouts so a failed rank cannot hang the others)
  // and after it, on every rank.
  std::function<void(comm::Communicator&)> before, after;
};

int run_all_tests_on_every_rank(int argc, char** argv, const MpiGtestOptions& options = {});

}  // namespace hesp::testing
