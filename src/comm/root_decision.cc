#include "comm/root_decision.h"

#include <glog/logging.h>

#include "util/errors.h"

namespace hesp::comm {
namespace {

// The outcome on the wire: "=" + answer, or "!" + exit code + " " + message.
constexpr char kAnswer = '=';
constexpr char kError = '!';

// The errors decide_on_root throws on every rank (raised_on_every_rank).
class SharedUserError final : public UserError {
 public:
  using UserError::UserError;
};
class SharedConfigError final : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

}  // namespace

bool raised_on_every_rank(const UserError& e) {
  return dynamic_cast<const SharedUserError*>(&e) != nullptr ||
         dynamic_cast<const SharedConfigError*>(&e) != nullptr;
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
  if (code == kExitConfigError) throw SharedConfigError(message);
  throw SharedUserError(message, code);
}

}  // namespace hesp::comm
