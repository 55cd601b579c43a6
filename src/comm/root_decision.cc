#include "comm/root_decision.h"

#include <glog/logging.h>

#include "util/errors.h"
#include "util/stop_signal.h"

namespace hesp::comm {
namespace {

// The outcome on the wire: "=" + answer, or "!" + exit code + " " + message.
constexpr char kAnswer = '=';
constexpr char kError = '!';

}  // namespace

std::string decide_on_root(Communicator& comm, const std::function<std::string()>& decide) {
  std::string outcome;
  if (comm.is_root()) {
    try {
      outcome = kAnswer + decide();
    } catch (const UserError& e) {
      outcome = kError + std::to_string(e.exit_code()) + " " + e.what();
    }
  }
  comm.broadcast_bytes(outcome, 0);
  CHECK(!outcome.empty()) << "decide_on_root: empty outcome";
  if (outcome[0] == kAnswer) return outcome.substr(1);
  CHECK_EQ(outcome[0], kError) << "decide_on_root: bad outcome '" << outcome << "'";
  const size_t space = outcome.find(' ');
  CHECK_NE(space, std::string::npos) << "decide_on_root: bad outcome '" << outcome << "'";
  const int code = std::stoi(outcome.substr(1, space - 1));
  std::string message = outcome.substr(space + 1);
  if (code == kExitConfigError) throw ConfigError(message);
  throw UserError(message, code);
}

bool any_rank(Communicator& comm, bool local) {
  return comm.all_reduce_int(local ? 1 : 0, ReduceOp::kMax) != 0;
}

bool stop_requested_on_any_rank(Communicator& comm) {
  return any_rank(comm, util::stop_requested());
}

}  // namespace hesp::comm
