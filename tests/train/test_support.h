#pragma once
// Helpers shared by the trainer-infrastructure tests: a temporary directory, the log
// capture, and the world communicator.
#include <glog/logging.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "support/log_capture.h"

namespace hesp::train::testing {

// A fresh directory under $TMPDIR, removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hesp-train-XXXXXX").string();
    CHECK(::mkdtemp(tmpl.data()) != nullptr) << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

using LogCapture = hesp::testing::LogCapture;

inline comm::Communicator& world() { return *comm::world(); }

}  // namespace hesp::train::testing
