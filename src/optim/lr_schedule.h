#pragma once
// Step learning-rate schedules (spec §8), indexed by 0-based epoch: the rate of epoch e
// is base_lr * gamma^(number of milestones <= e), i.e. milestone 30 means epochs 0..29 run
// at base_lr and epoch 30 is the first at base_lr * gamma (PyTorch's MultiStepLR).
//   reference  100 epochs, milestones 30, 60, 90
//   paper      200 epochs, a milestone every 30 epochs (30, 60, ..., 180)
//   custom     schedule.epochs + schedule.milestones
// schedule.epochs > 0 overrides the kind's epoch count; for `paper` the "every 30" rule
// then runs up to the new count.
#include <string>
#include <vector>

#include "config/experiment.pb.h"

namespace hesp::optim {

class LrSchedule {
 public:
  LrSchedule(double base_lr, int total_epochs, std::vector<int> milestones, double gamma);

  // From the config; base_lr is optim.lr. Throws ConfigError for settings that cannot
  // make a schedule (milestones with a non-custom kind, non-positive milestones).
  static LrSchedule from_config(const config::ScheduleConfig& schedule, float base_lr);

  double lr(int epoch) const;
  int total_epochs() const { return total_epochs_; }
  const std::vector<int>& milestones() const { return milestones_; }
  double base_lr() const { return base_lr_; }
  double gamma() const { return gamma_; }
  // "100 epochs, lr 0.01, x0.1 at 30, 60, 90" for the log.
  std::string describe() const;

 private:
  double base_lr_;
  int total_epochs_;
  std::vector<int> milestones_;
  double gamma_;
};

// A float config value as the decimal the user wrote (0.1f -> 0.1, not 0.100000001490116):
// the shortest decimal that round-trips the float, read back as a double.
double float_as_written(float v);

}  // namespace hesp::optim
