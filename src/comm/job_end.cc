#include "comm/job_end.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "util/logging.h"
#if defined(HESP_HAVE_MPI)
#include "comm/mpi_communicator.h"
#endif

namespace hesp::comm {
namespace {

// One write for the whole line: the lines of the ranks of a job meet in mpirun's output,
// and a line written piece by piece gets another rank's line inside it.
void write_line(const std::string& text) {
  std::cerr.flush();
  const std::string line = text + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(2, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

JobPlace job_place() {
  JobPlace place;
#if defined(HESP_HAVE_MPI)
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &place.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &place.size);
  }
#endif
  return place;
}

int end_job_after_error(const std::string& what, int exit_code, bool on_every_rank,
                        const std::string& label) {
  const JobPlace place = job_place();
  logging::record_error(what);
  if (place.size <= 1 || on_every_rank) {
    if (place.rank == 0) write_line(label + ": " + what);
    logging::close_rank_file();
    return exit_code;
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "unknown-host");
  const std::string who =
      "rank " + std::to_string(place.rank) + " of " + std::to_string(place.size) + ", host " + host;
  write_line(label + " (" + who + "): " + what);
  google::FlushLogFiles(google::GLOG_INFO);
  logging::close_rank_file();
#if defined(HESP_HAVE_MPI)
  MpiCommunicator::abort_job(exit_code, who);  // Does not return.
#endif
  return exit_code;
}

}  // namespace hesp::comm
