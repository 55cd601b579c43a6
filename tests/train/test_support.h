#pragma once
// Helpers shared by the trainer-infrastructure tests: a temporary directory, a glog
// warning collector, and the world communicator.
#include <glog/logging.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "comm/communicator.h"

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

class WarningCollector : public google::LogSink {
 public:
  WarningCollector() { google::AddLogSink(this); }
  ~WarningCollector() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t len) override {
    if (severity < google::GLOG_WARNING) return;
    std::lock_guard<std::mutex> lock(mu_);
    text_ += std::string(message, len) + "\n";
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

inline comm::Communicator& world() { return *comm::world(); }

}  // namespace hesp::train::testing
