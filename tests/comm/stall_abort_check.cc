// A job that stalls, for tests/comm/stall_abort_test.sh; run under mpirun -np 2.
//   stall_abort_check late      rank 1 never reaches the all-reduce: the stall inspector
//                               must abort the job after its abort timeout.
//   stall_abort_check mismatch  rank 0 enters a barrier while rank 1 enters a broadcast
//                               from rank 0: rank 0 must name both operations and abort.
//                               (A broadcast's receiver sends nothing, so no message of
//                               rank 1 can be taken for rank 0's barrier; two collectives
//                               that both send may instead cross-match inside MPI and end
//                               in an MPI error, which MPI_ERRORS_ARE_FATAL also turns into
//                               an abort.)
// Prints "not aborted" and exits 0 only if rank 0 got past the stalled collective (which the
// test treats as a failure); rank 1 never returns by itself.
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "util/logging.h"

namespace {

// Keeps this rank out of MPI until mpirun ends the job: whether the job ends depends on
// the stall inspector alone, never on how long a sleep lasts (the test's `timeout`
// bounds it).
[[noreturn]] void stay_away_until_killed() {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hesp;
  logging::init(argv[0]);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "late" && mode != "mismatch") {
    std::cerr << "usage: stall_abort_check late|mismatch\n";
    return 2;
  }
  auto c = comm::world();
  logging::configure_for_rank(c->rank(), /*all_ranks=*/true);
  c->set_timeouts({/*stall_warning_s=*/0.5, /*stall_abort_s=*/2.0, 0});
  c->barrier();  // Both ranks are up and the inspector has seen them once.
  auto t = torch::ones({8});
  if (mode == "late") {
    // Rank 1 never arrives (mpirun kills it on the abort).
    if (c->rank() == 1) stay_away_until_killed();
    c->all_reduce(t, comm::ReduceOp::kSum);
  } else if (c->rank() == 0) {
    c->barrier();
  } else {
    c->broadcast(t, 0);
    // Keep rank 1 alive and out of MPI while rank 0's inspector looks at it.
    stay_away_until_killed();
  }
  std::cout << "not aborted" << std::endl;
  return 0;
}
