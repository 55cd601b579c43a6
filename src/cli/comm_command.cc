// `hesp comm info`: which communicator this process gets, rank layout and threads. Useful
// to check an mpirun/srun line before launching a real job.
#include <glog/logging.h>

#include <iostream>

#include "cli/app.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "util/logging.h"
#include "util/resources.h"
#include "util/threads.h"

namespace hesp::cli {

void add_comm_commands(CLI::App& app, const GlobalOptions& global) {
  auto* comm = app.add_subcommand("comm", "inspect the communicator");
  comm->require_subcommand(1);
  auto* info = comm->add_subcommand("info", "print backend, rank, size, local rank, threads");
  set_action(info, [&global] {
    auto world = comm::world();
    logging::configure_for_rank(world->rank(), global.log_all_ranks);
    const int threads = threads::configure(global.threads, world->local_size());
    LOG(INFO) << "communicator " << comm::backend_name(world->backend()) << " ready: rank "
              << world->rank() << " of " << world->size() << ", " << threads << " thread(s)";
    auto sum = world->all_reduce_int(1, comm::ReduceOp::kSum);
    std::cout << "host=" << resources::host_name()
              << " backend=" << comm::backend_name(world->backend()) << " rank=" << world->rank()
              << " size=" << world->size() << " local_rank=" << world->local_rank()
              << " local_size=" << world->local_size() << " threads=" << threads
              << " all_reduce_check=" << sum << std::endl;
    return sum == world->size() ? 0 : 1;
  });
}

}  // namespace hesp::cli
