#pragma once
// Decisions every rank must take alike. Rank 0 decides, every rank gets the answer or the
// same error: for what only one rank may do (look at a shared disk, write a file) when
// every rank must then act alike. Replaces ad-hoc "ok:"/"error:" string protocols. And
// the agreement on a stop: every rank stops at the same point when any rank got a stop
// signal (util/stop_signal.h), the one rule of the trainer and the sweep.
#include <functional>
#include <string>

#include "comm/communicator.h"
#include "util/errors.h"

namespace hesp::comm {

// Collective. Runs `decide` on rank 0 only and broadcasts its outcome: every rank returns
// the string it returned, or throws the UserError it threw (same message and exit code; a
// ConfigError stays a ConfigError), as a type for which raised_on_every_rank() is true. Other
// exceptions are not caught (they end rank 0; the stall inspector then ends the others).
std::string decide_on_root(Communicator& comm, const std::function<std::string()>& decide);

// Throws, on the calling rank, an error that every rank of `comm` raises alike at the same
// point from a collective verdict (e.g. a non-finite averaged gradient): like an error of
// decide_on_root, decided_on_root() is true for it, and raised_on_every_rank() when `comm`
// is the whole job, so it is printed once and a sweep group records it as the run's.
// Every rank of `comm` must call it with the same message and code.
[[noreturn]] void throw_on_every_rank(const Communicator& comm, const std::string& what,
                                      int exit_code);

// Whether every rank of the job raised `e` alike at the same point (an error of
// decide_on_root on a communicator of the whole job, whose outcome every rank shares; an
// error decided within a sweep's group of ranks is not the job's). Such an error is printed once,
// by rank 0, and every rank exits with its code. Any other error may be one rank's alone: that rank
// prints it and ends the whole job (comm::end_job_after_error), since the others would wait
// for it in their next collective.
bool raised_on_every_rank(const UserError& e);

// Whether `e` came out of decide_on_root (on whatever communicator): every rank of that
// communicator raised it (a sweep's group of ranks records such a run as failed).
bool decided_on_root(const UserError& e);
// Collective (exactly one all_reduce): true on every rank when `local` is true on any rank.
bool any_rank(Communicator& comm, bool local);

// Collective (exactly one all_reduce): true on every rank when any rank of `comm` got a
// stop signal (util::stop_requested).
bool stop_requested_on_any_rank(Communicator& comm);

}  // namespace hesp::comm
