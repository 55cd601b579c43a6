#include "train/training_cadence.h"

#include <glog/logging.h>

namespace hesp::train {

TrainingCadence::TrainingCadence(Settings s) : settings_(s) {
  CHECK_GE(settings_.log_every_steps, 1);
  CHECK_GE(settings_.evaluate_every_epochs, 1);
  CHECK_GE(settings_.checkpoint_every_epochs, 1);
  CHECK_GE(settings_.max_epochs_this_run, 0);
}

StepDecision TrainingCadence::after_step(const data::SamplerPosition& next,
                                         StepAction requested) const {
  StepDecision d;
  d.log = global_step(next) % settings_.log_every_steps == 0;
  if (requested == StepAction::kNone) return d;
  if (next.step >= settings_.steps_per_epoch) {
    d.deferred = requested;  // The epoch's end decides, after its record.
    return d;
  }
  d.checkpoint = true;
  d.stop = requested == StepAction::kCheckpointAndStop;
  return d;
}

EpochDecision TrainingCadence::after_epoch(int64_t epoch, int epochs_this_run,
                                           StepAction deferred) const {
  EpochDecision d;
  const int64_t done = epoch + 1;  // Epochs completed.
  const bool last = done == settings_.total_epochs;
  const bool evaluation_epoch = done % settings_.evaluate_every_epochs == 0;
  d.evaluate = !last && evaluation_epoch;
  d.validate = settings_.has_validation && (last || evaluation_epoch);
  if (deferred == StepAction::kCheckpointAndStop) {
    d.stop = true;
    d.stop_reason = "a preemption request";
  } else if (!last && settings_.max_epochs_this_run > 0 &&
             epochs_this_run >= settings_.max_epochs_this_run) {
    d.stop = true;
    d.stop_reason = "--max-epochs-this-run";
  }
  d.checkpoint = last || done % settings_.checkpoint_every_epochs == 0 ||
                 deferred != StepAction::kNone || d.stop;
  return d;
}

}  // namespace hesp::train
