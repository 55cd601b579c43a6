#include "util/logging.h"

#include <glog/logging.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <memory>
#include <mutex>

#include "util/errors.h"

namespace hesp::logging {
namespace {

std::atomic<int> g_rank{-1};

void write_prefix(std::ostream& s, char severity, const std::tm& tm, int usecs, const char* file,
                  int line) {
  const int rank = g_rank.load();
  s << "[rank " << (rank < 0 ? std::string("?") : std::to_string(rank)) << "] " << severity
    << std::setfill('0') << std::setw(2) << 1 + tm.tm_mon << std::setw(2) << tm.tm_mday << ' '
    << std::setw(2) << tm.tm_hour << ':' << std::setw(2) << tm.tm_min << ':' << std::setw(2)
    << tm.tm_sec << '.' << std::setw(6) << usecs << std::setfill(' ') << ' ' << file << ':' << line
    << "] ";
}

void prefix_callback(std::ostream& s, const google::LogMessageInfo& info, void*) {
  write_prefix(s, info.severity[0], info.time.tm(), static_cast<int>(info.time.usec()),
               info.filename, info.line_number);
}

// Writes every message of this process to one file per rank.
class RankFileSink : public google::LogSink {
 public:
  explicit RankFileSink(const std::filesystem::path& path) : out_(path, std::ios::app) {
    if (!out_) throw UserError("cannot open log file " + path.string());
  }
  void send(google::LogSeverity severity, const char*, const char* base_filename, int line,
            const struct ::tm* tm_time, const char* message, size_t message_len) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const int usecs = static_cast<int>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000);
    write_prefix(out_, google::GetLogSeverityName(severity)[0], *tm_time, usecs, base_filename,
                 line);
    out_.write(message, static_cast<std::streamsize>(message_len));
    out_ << '\n';
    if (severity >= google::GLOG_WARNING) out_.flush();
  }
  void WaitTillSent() override { out_.flush(); }

 private:
  std::mutex mu_;
  std::ofstream out_;
};

std::unique_ptr<RankFileSink> g_sink;

}  // namespace

void init(const char* argv0) {
  static std::once_flag once;
  std::call_once(once, [argv0] {
    google::InitGoogleLogging(argv0, &prefix_callback, nullptr);
    // glog's own per-severity files would land in /tmp; the per-rank sink replaces them.
    for (int s = google::GLOG_INFO; s < google::NUM_SEVERITIES; ++s) {
      google::SetLogDestination(s, "");
    }
    FLAGS_logtostderr = false;
    FLAGS_stderrthreshold = google::GLOG_INFO;
    FLAGS_colorlogtostderr = false;
  });
}

void configure_for_rank(int rank, bool log_all_ranks, const std::filesystem::path& run_dir) {
  g_rank = rank;
  FLAGS_stderrthreshold = (rank == 0 || log_all_ranks) ? google::GLOG_INFO : google::GLOG_WARNING;
  if (!run_dir.empty()) {
    close_rank_file();
    std::filesystem::create_directories(run_dir / "logs");
    g_sink =
        std::make_unique<RankFileSink>(run_dir / "logs" / ("rank" + std::to_string(rank) + ".log"));
    google::AddLogSink(g_sink.get());
  }
}

void close_rank_file() {
  if (g_sink) {
    google::RemoveLogSink(g_sink.get());
    g_sink->WaitTillSent();
    g_sink.reset();
  }
}

int current_rank() { return g_rank.load(); }

void record_error(const std::string& message) {
  if (!g_sink) return;
  const int saved = FLAGS_stderrthreshold;
  FLAGS_stderrthreshold = google::NUM_SEVERITIES;
  LOG(ERROR) << message;
  FLAGS_stderrthreshold = saved;
  g_sink->WaitTillSent();
}

}  // namespace hesp::logging
