#include "comm/root_decision.h"

#include <glog/logging.h>

#include "comm/job_end.h"
#include "util/errors.h"
#include "util/stop_signal.h"

namespace hesp::comm {
namespace {

// The outcome on the wire: "=" + answer, or "!" + exit code + " " + message.
constexpr char kAnswer = '=';
constexpr char kError = '!';

// The errors decide_on_root throws on every rank of its communicator, which has `ranks`
// ranks (raised_on_every_rank compares them with the job's).
class SharedUserError final : public UserError {
 public:
  SharedUserError(const std::string& what, int code, int ranks)
      : UserError(what, code), ranks_(ranks) {}
  int ranks() const { return ranks_; }

 private:
  int ranks_;
};
class SharedConfigError final : public ConfigError {
 public:
  SharedConfigError(const std::string& what, int ranks) : ConfigError(what), ranks_(ranks) {}
  int ranks() const { return ranks_; }

 private:
  int ranks_;
};

}  // namespace

namespace {

// The size of the communicator that decided `e`, 0 for an error of one rank.
int deciding_ranks(const UserError& e) {
  if (const auto* u = dynamic_cast<const SharedUserError*>(&e)) return u->ranks();
  if (const auto* c = dynamic_cast<const SharedConfigError*>(&e)) return c->ranks();
  return 0;
}

}  // namespace

void throw_on_every_rank(const Communicator& comm, const std::string& what, int exit_code) {
  if (exit_code == kExitConfigError) throw SharedConfigError(what, comm.size());
  throw SharedUserError(what, exit_code, comm.size());
}

bool decided_on_root(const UserError& e) { return deciding_ranks(e) > 0; }

bool raised_on_every_rank(const UserError& e) {
  const int ranks = deciding_ranks(e);
  return ranks > 0 && ranks == job_place().size;
}

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
  if (code == kExitConfigError) throw SharedConfigError(message, comm.size());
  throw SharedUserError(message, code, comm.size());
}

bool any_rank(Communicator& comm, bool local) {
  return comm.all_reduce_int(local ? 1 : 0, ReduceOp::kMax) != 0;
}

bool stop_requested_on_any_rank(Communicator& comm) {
  return any_rank(comm, util::stop_requested());
}

}  // namespace hesp::comm
