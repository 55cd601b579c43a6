#pragma once
// Progress of a long pack: a redrawn bar with rate and ETA when stderr is a terminal,
// otherwise a plain log line every `log_every_s` seconds (batch jobs keep readable logs).
#include <chrono>
#include <cstdint>
#include <string>

namespace hesp::pack {

class Progress {
 public:
  Progress(std::string what, int64_t total, double log_every_s = 10.0);
  // Call after each item; cheap when nothing is printed.
  void update(int64_t done);
  // Final line (and newline after a bar).
  void finish();

 private:
  void print(bool final);

  std::string what_;
  int64_t total_;
  int64_t done_ = 0;
  double log_every_s_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace hesp::pack
