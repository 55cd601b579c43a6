#pragma once
// How a process of an MPI job ends after an error: promptly, and the whole job with it when
// the error is one rank's alone (issue: a rank failing at start-up left the others waiting
// in their first collective until distributed.stall_abort_s). docs/training.md, "Exit codes".
#include <string>

namespace hesp::comm {

// This process's place in the MPI job: rank and size of MPI_COMM_WORLD once MPI is
// initialised (and not yet finalised), else rank 0 of 1.
struct JobPlace {
  int rank = 0;
  int size = 1;
};
JobPlace job_place();

// Ends this process after an error that escaped a command (`what`: the message; `exit_code`:
// the process exit code, util/errors.h; `label`: how the line starts, "error" for hesp,
// "hesp-pack" for hesp-pack). The message goes into the rank's log file.
//  - One process, or an error every rank raised alike (comm::raised_on_every_rank): rank 0
//    prints "<label>: <what>" on stderr and the function returns `exit_code` for main to
//    return (MPI is then finalised normally by every rank).
//  - Otherwise the error may be this rank's alone, and the others would wait for it in
//    their next collective until the stall inspector's limit: this rank prints
//    "<label> (rank R of N, host H): <what>", flushes its logs, tells every other rank
//    which rank ended the job (they log it if they are waiting in a collective, see
//    MpiCommunicator), and ends the whole job with MPI_Abort(exit_code): mpirun exits with
//    that code within seconds. Does not return.
int end_job_after_error(const std::string& what, int exit_code, bool on_every_rank,
                        const std::string& label = "error");

}  // namespace hesp::comm
