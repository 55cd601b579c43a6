#include "run/metrics_log.h"

#include <glog/logging.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::run {

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr)
    throw UserError("cannot open " + path.string() + ": " + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsLog::append(const nlohmann::json& record) {
  CHECK(record.is_object()) << "metrics.jsonl records are JSON objects";
  // dump() without indent escapes control characters, so a record is always one line.
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw UserError("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
}

int64_t rewind_metrics_log(const std::filesystem::path& path, int64_t kept_epochs,
                           nlohmann::json marker) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0) return -1;
  std::istringstream in(fs::read_file(path));
  std::string kept;
  int64_t dropped = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json r;
    try {
      r = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      ++dropped;  // The line a crash left half-written.
      continue;
    }
    const bool later_epoch = r.is_object() && r.contains("epoch") && r["epoch"].is_number() &&
                             r["epoch"].get<int64_t>() > kept_epochs;
    const bool final = r.is_object() && r.value("final", false);
    if (!r.is_object() || later_epoch || final) {
      ++dropped;
      continue;
    }
    kept += line + "\n";
  }
  marker["dropped_records"] = dropped;
  kept += marker.dump() + "\n";
  fs::atomic_write_file(path, kept);
  return dropped;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  const int64_t d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", static_cast<long long>(d),
                  static_cast<long long>(h));
  } else if (h > 0) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm%02llds", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(sec));
  } else if (m > 0) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(m),
                  static_cast<long long>(sec));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(sec));
  }
  return buf;
}

ProgressFormatter::ProgressFormatter(int64_t total_steps, int64_t start_step, double start_time_s)
    : total_steps_(total_steps), start_step_(start_step), start_time_s_(start_time_s) {}

double ProgressFormatter::rate(int64_t global_step, double now_s) const {
  const double dt = now_s - start_time_s_;
  const int64_t done = global_step - start_step_;
  if (dt <= 0 || done <= 0) return 0;
  return static_cast<double>(done) / dt;
}

double ProgressFormatter::eta_seconds(int64_t global_step, double now_s) const {
  const double r = rate(global_step, now_s);
  if (r <= 0) return -1;
  const int64_t left = total_steps_ - global_step;
  return left <= 0 ? 0.0 : static_cast<double>(left) / r;
}

std::string ProgressFormatter::format(
    int epoch, int total_epochs, int64_t step_in_epoch, int64_t steps_per_epoch,
    int64_t global_step, double now_s,
    const std::vector<std::pair<std::string, double>>& values) const {
  std::ostringstream os;
  os << "epoch " << epoch << "/" << total_epochs << " step " << step_in_epoch << "/"
     << steps_per_epoch;
  if (!values.empty()) {
    os << " |";
    for (const auto& [name, v] : values) os << " " << name << " " << v;
  }
  const double r = rate(global_step, now_s);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", r);
  os << " | " << buf << " it/s | ETA " << format_duration(eta_seconds(global_step, now_s));
  return os.str();
}

}  // namespace hesp::run
