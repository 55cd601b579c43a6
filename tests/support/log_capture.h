#pragma once
// Captures this process's glog messages at or above a severity while it lives, so a test
// can assert on what a component warned about (a late rank's name, a skipped checkpoint).
#include <glog/logging.h>

#include <mutex>
#include <string>

namespace hesp::testing {

class LogCapture : public google::LogSink {
 public:
  explicit LogCapture(google::LogSeverity min_severity = google::GLOG_WARNING)
      : min_severity_(min_severity) {
    google::AddLogSink(this);
  }
  ~LogCapture() override { google::RemoveLogSink(this); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t len) override {
    if (severity < min_severity_) return;
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(message, len).append("\n");
  }
  // Everything captured so far, one message per line.
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  const google::LogSeverity min_severity_;
  std::mutex mu_;
  std::string text_;
};

}  // namespace hesp::testing
