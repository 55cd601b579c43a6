#include "progress.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>

namespace hesp::pack {
namespace {

std::string hms(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%02ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

}  // namespace

Progress::Progress(std::string what, int64_t total, double log_every_s)
    : what_(std::move(what)),
      total_(total),
      log_every_s_(log_every_s),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since >= (tty_ ? 0.2 : log_every_s_)) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish() { print(true); }

void Progress::print(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done_) / rate : -1;
  if (tty_) {
    const int width = 30;
    const int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f clips/s ETA %s   ", what_.c_str(), bar.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), rate,
                 hms(eta).c_str());
    if (final) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  } else {
    LOG(INFO) << what_ << ": " << done_ << "/" << total_ << " clips, " << rate << " clips/s"
              << (final ? ", done in " + hms(elapsed) : ", ETA " + hms(eta));
  }
}

}  // namespace hesp::pack
