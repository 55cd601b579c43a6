#pragma once
// Rank 0 decides, every rank gets the answer or the same error: for what only one rank may
// do (look at a shared disk, write a file) when every rank must then act alike. Replaces
// ad-hoc "ok:"/"error:" string protocols.
#include <functional>
#include <string>

#include "comm/communicator.h"

namespace hesp::comm {

// Collective. Runs `decide` on rank 0 only and broadcasts its outcome: every rank returns
// the string it returned, or throws the UserError it threw (same message and exit code; a
// ConfigError stays a ConfigError). Other exceptions are not caught (they end rank 0; the
// stall inspector then ends the others).
std::string decide_on_root(Communicator& comm, const std::function<std::string()>& decide);

}  // namespace hesp::comm
