#include "comm/backend.h"

#include <glog/logging.h>

#include <array>
#include <utility>

#include "util/errors.h"

namespace hesp::comm {
namespace {

constexpr std::array<std::pair<Backend, std::string_view>, 3> kNames = {{
    {Backend::kSingle, "single"},
    {Backend::kMpi, "mpi"},
    {Backend::kNccl, "nccl"},
}};

}  // namespace

std::string backend_name(Backend backend) {
  for (const auto& [b, name] : kNames) {
    if (b == backend) return std::string(name);
  }
  LOG(FATAL) << "unknown backend " << static_cast<int>(backend);
  return "";
}

Backend parse_backend(std::string_view value, std::string_view field) {
  std::string accepted;
  for (const auto& [b, name] : kNames) {
    if (name == value) return b;
    accepted += std::string(accepted.empty() ? "" : ", ") + std::string(name);
  }
  throw ConfigError(std::string(field) + ": unknown backend '" + std::string(value) +
                    "' (accepted: " + accepted + ")");
}

}  // namespace hesp::comm
