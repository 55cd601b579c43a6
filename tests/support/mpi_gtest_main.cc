// main() for MPI-aware test binaries without special needs.
#include "support/mpi_gtest.h"

int main(int argc, char** argv) {
  hesp::testing::MpiGtestOptions options;
  options.log_all_ranks = true;
  return hesp::testing::run_all_tests_on_every_rank(argc, argv, options);
}
