#include "optim/lr_schedule.h"

#include <glog/logging.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <utility>

#include "util/errors.h"

namespace hesp::optim {

double float_as_written(float v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf) - 1, v);
  CHECK(res.ec == std::errc()) << "to_chars failed";
  *res.ptr = '\0';
  return std::strtod(buf, nullptr);
}

LrSchedule::LrSchedule(double base_lr, int total_epochs, std::vector<int> milestones, double gamma)
    : base_lr_(base_lr),
      total_epochs_(total_epochs),
      milestones_(std::move(milestones)),
      gamma_(gamma) {
  CHECK_GT(base_lr_, 0);
  CHECK_GT(total_epochs_, 0);
  CHECK_GT(gamma_, 0);
  for (size_t i = 0; i < milestones_.size(); ++i) {
    CHECK_GT(milestones_[i], 0) << "milestones must be positive";
    if (i > 0) CHECK_GT(milestones_[i], milestones_[i - 1]) << "milestones must increase";
  }
}

LrSchedule LrSchedule::from_config(const config::ScheduleConfig& s, float base_lr) {
  using K = config::ScheduleConfig;
  if (s.kind() != K::custom && s.milestones_size() > 0) {
    throw ConfigError("schedule.milestones is only used with schedule.kind: custom (kind is " +
                      K::Kind_Name(s.kind()) + ")");
  }
  for (int i = 0; i < s.milestones_size(); ++i) {
    if (s.milestones(i) <= 0 || (i > 0 && s.milestones(i) <= s.milestones(i - 1))) {
      throw ConfigError("schedule.milestones must be positive and strictly increasing (got " +
                        std::to_string(s.milestones(i)) + " at position " + std::to_string(i) +
                        ")");
    }
  }
  if (s.epochs() < 0) throw ConfigError("schedule.epochs must be >= 0");
  if (!(s.gamma() > 0)) throw ConfigError("schedule.gamma must be > 0");
  const double gamma = float_as_written(s.gamma());
  const double lr = float_as_written(base_lr);
  if (!(lr > 0)) throw ConfigError("optim.lr must be > 0");

  switch (s.kind()) {
    case K::reference: {
      const int epochs = s.epochs() > 0 ? s.epochs() : 100;
      return LrSchedule(lr, epochs, {30, 60, 90}, gamma);
    }
    case K::paper: {
      const int epochs = s.epochs() > 0 ? s.epochs() : 200;
      std::vector<int> milestones;
      for (int m = 30; m < epochs; m += 30) milestones.push_back(m);
      return LrSchedule(lr, epochs, std::move(milestones), gamma);
    }
    case K::custom: {
      if (s.epochs() <= 0) throw ConfigError("schedule.epochs must be > 0 for kind custom");
      return LrSchedule(lr, s.epochs(), {s.milestones().begin(), s.milestones().end()}, gamma);
    }
  }
  throw ConfigError("schedule.kind has an unknown value " + std::to_string(s.kind()));
}

double LrSchedule::lr(int epoch) const {
  CHECK_GE(epoch, 0);
  int passed = 0;
  for (int m : milestones_) passed += (epoch >= m) ? 1 : 0;
  // Repeated multiplication rather than pow() so that the value equals what a
  // step-by-step scheduler would compute.
  double v = base_lr_;
  for (int i = 0; i < passed; ++i) v *= gamma_;
  return v;
}

std::string LrSchedule::describe() const {
  std::ostringstream os;
  os << total_epochs_ << " epochs, lr " << base_lr_;
  if (!milestones_.empty()) {
    os << ", x" << gamma_ << " at";
    for (size_t i = 0; i < milestones_.size(); ++i) os << (i ? ", " : " ") << milestones_[i];
  }
  return os.str();
}

}  // namespace hesp::optim
