// gtest main for binaries that run both as one process and under `mpirun -np N`: every
// rank runs every test, and the exit status is the worst over ranks.
#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "util/logging.h"

int main(int argc, char** argv) {
  hesp::logging::init(argv[0]);
  ::testing::InitGoogleTest(&argc, argv);
  auto world = hesp::comm::world();
  hesp::logging::configure_for_rank(world->rank(), /*log_all_ranks=*/true);
  const int rc = RUN_ALL_TESTS();
  return static_cast<int>(world->all_reduce_int(rc, hesp::comm::ReduceOp::kMax));
}
