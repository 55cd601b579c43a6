#pragma once
// Decisions every rank must take alike. Rank 0 decides, every rank gets the answer or the
// same error: for what only one rank may do (look at a shared disk, write a file) when
// every rank must then act alike. Replaces ad-hoc "ok:"/"error:" string protocols. And
// the agreement on a stop: every rank stops at the same point when any rank got a stop
// signal (util/stop_signal.h), the one rule of the trainer and the sweep.
#include <functional>
#include <string>

#include "comm/communicator.h"

namespace hesp::comm {

// Collective. Runs `decide` on rank 0 only and broadcasts its outcome: every rank returns
// the string it returned, or throws the UserError it threw (same message and exit code; a
// ConfigError stays a ConfigError). Other exceptions are not caught (they end rank 0; the
// stall inspector then ends the others).
std::string decide_on_root(Communicator& comm, const std::function<std::string()>& decide);

// Collective (exactly one all_reduce): true on every rank when `local` is true on any rank.
bool any_rank(Communicator& comm, bool local);

// Collective (exactly one all_reduce): true on every rank when any rank of `comm` got a
// stop signal (util::stop_requested).
bool stop_requested_on_any_rank(Communicator& comm);

}  // namespace hesp::comm
