#include "support/mpi_gtest.h"

#include <gtest/gtest.h>

#include "comm/communicator_factory.h"
#include "util/logging.h"

namespace hesp::testing {

int run_all_tests_on_every_rank(int argc, char** argv, const MpiGtestOptions& options) {
  logging::init(argv[0]);
  ::testing::InitGoogleTest(&argc, argv);
  auto world = comm::world();
  logging::configure_for_rank(world->rank(), options.log_all_ranks);
  if (options.before) options.before(*world);
  int rc = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (rc == 0 && options.all_skipped_code != 0 &&
      unit->skipped_test_count() == unit->total_test_count()) {
    rc = options.all_skipped_code;
  }
  rc = static_cast<int>(world->all_reduce_int(rc, comm::ReduceOp::kMax));
  if (options.after) options.after(*world);
  return rc;
}

}  // namespace hesp::testing
