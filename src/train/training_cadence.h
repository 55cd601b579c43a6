#pragma once
// When the training loop logs, evaluates, checkpoints and stops (anchor: Marian's
// Scheduler::saving / validating / keepGoing). Every such decision is made here, once, for
// a position; the loop only acts on the answer.
//   after a step    log the progress line every logging.log_every_steps global steps; a
//                   requested action (StepAction from the action source) is taken at once
//                   mid-epoch, and at the epoch's end when the step was the epoch's last,
//                   so that the epoch's record is written before a stop.
//   after an epoch  evaluate the test set every eval.every_epochs epochs (not the last:
//                   the final evaluation follows); evaluate the validation hold-out, when
//                   there is one, every eval.every_epochs epochs and on the last (model
//                   selection, spec §9: ModelSelector compares what this asks for);
//                   checkpoint on the last epoch, every checkpoint.every_epochs epochs, on
//                   a requested action and when the run stops after --max-epochs-this-run
//                   epochs (one checkpoint however many of these coincide); stop on a
//                   requested stop or after --max-epochs-this-run epochs (not after the
//                   last epoch).
#include <cstdint>

#include "data/loader/sampler.h"
#include "train/preemption.h"

namespace hesp::train {

struct StepDecision {
  bool log = false;                         // Write the progress line.
  bool checkpoint = false;                  // Checkpoint at the position after the step, now.
  bool stop = false;                        // Then stop the run (exit kExitPreempted).
  StepAction deferred = StepAction::kNone;  // To be taken at the end of the epoch.
};

struct EpochDecision {
  bool evaluate = false;         // Test metrics in the epoch's record.
  bool validate = false;         // Evaluate the validation hold-out (model selection).
  bool checkpoint = false;       // Checkpoint at the start of the next epoch.
  bool stop = false;             // Then stop the run (exit kExitPreempted).
  const char* stop_reason = "";  // For the log line.
};

class TrainingCadence {
 public:
  struct Settings {
    int total_epochs = 0;
    int64_t steps_per_epoch = 0;
    int log_every_steps = 1;          // logging.log_every_steps (>= 1)
    int evaluate_every_epochs = 1;    // eval.every_epochs (>= 1)
    bool has_validation = false;      // A validation hold-out exists (RunData::validation)
    int checkpoint_every_epochs = 1;  // checkpoint.every_epochs (>= 1)
    int max_epochs_this_run = 0;      // --max-epochs-this-run; 0 = no limit
  };
  explicit TrainingCadence(Settings s);

  // After the step that leads to `next` (the position of the following step; step ==
  // steps_per_epoch at the end of an epoch), given the action the source asked for.
  StepDecision after_step(const data::SamplerPosition& next, StepAction requested) const;

  // After 0-based `epoch` ended, the `epochs_this_run`-th epoch this process ran, with
  // the action deferred from its last step.
  EpochDecision after_epoch(int64_t epoch, int epochs_this_run, StepAction deferred) const;

  int64_t global_step(const data::SamplerPosition& p) const {
    return p.epoch * settings_.steps_per_epoch + p.step;
  }
  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
};

}  // namespace hesp::train
