#include "util/failpoint.h"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "util/errors.h"

namespace hesp::util {
namespace {

struct Action {
  enum Kind { kPause, kExit } kind = kPause;
  std::string path;  // pause: the release file
  int code = 0;      // exit: the exit code
};

// NAME=ACTION;NAME=ACTION -> map; throws ConfigError naming the bad part.
std::map<std::string, Action, std::less<>> parse(const std::string& text) {
  std::map<std::string, Action, std::less<>> points;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    const std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const auto bad = [&](const std::string& why) {
      return ConfigError("HESP_FAILPOINTS: '" + item + "': " + why +
                         " (expected NAME=pause(PATH) or NAME=exit(N))");
    };
    const size_t eq = item.find('=');
    if (eq == std::string::npos) throw bad("no '='");
    const std::string name = item.substr(0, eq);
    const std::string action = item.substr(eq + 1);
    if (std::find(std::begin(kFailpointNames), std::end(kFailpointNames), name) ==
        std::end(kFailpointNames)) {
      throw bad("unknown failpoint '" + name + "'");
    }
    const size_t open = action.find('(');
    if (open == std::string::npos || action.back() != ')') throw bad("no (argument)");
    const std::string verb = action.substr(0, open);
    const std::string arg = action.substr(open + 1, action.size() - open - 2);
    Action a;
    if (verb == "pause" && !arg.empty()) {
      a.kind = Action::kPause;
      a.path = arg;
    } else if (verb == "exit") {
      a.kind = Action::kExit;
      char* rest = nullptr;
      const long code = std::strtol(arg.c_str(), &rest, 10);
      if (arg.empty() || *rest != '\0' || code < 0 || code > 255) throw bad("bad exit code");
      a.code = static_cast<int>(code);
    } else {
      throw bad("unknown action '" + verb + "'");
    }
    points[name] = a;
  }
  return points;
}

const std::map<std::string, Action, std::less<>>& points() {
  static const auto parsed = [] {
    const char* env = std::getenv("HESP_FAILPOINTS");
    return env == nullptr ? std::map<std::string, Action, std::less<>>{} : parse(env);
  }();
  return parsed;
}

}  // namespace

void failpoint(std::string_view name, const std::function<bool()>& released) {
  static const bool any = std::getenv("HESP_FAILPOINTS") != nullptr;
  if (!any) return;
  const auto& all = points();
  const auto it = all.find(name);
  if (it == all.end()) return;
  const Action& a = it->second;
  if (a.kind == Action::kExit) {
    LOG(ERROR) << "failpoint " << name << ": exit(" << a.code << ")";
    google::FlushLogFiles(google::GLOG_INFO);
    _exit(a.code);
  }
  const auto is_released = [&] {
    std::error_code ec;
    return (released && released()) || std::filesystem::exists(a.path, ec);
  };
  if (is_released()) return;
  LOG(WARNING) << "failpoint " << name << ": paused until a stop signal or " << a.path;
  google::FlushLogFiles(google::GLOG_INFO);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (!is_released()) {
    if (std::chrono::steady_clock::now() > deadline) {
      LOG(ERROR) << "failpoint " << name << ": not released within 10 minutes";
      google::FlushLogFiles(google::GLOG_INFO);
      _exit(kExitFailure);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  LOG(INFO) << "failpoint " << name << ": released";
}

}  // namespace hesp::util
