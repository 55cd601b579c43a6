#pragma once
// `hesp train`: one run of one method on one open-set split, data-parallel over the
// ranks of `comm`. The run directory receives config.pbtxt, logs/, checkpoints/,
// cam_cache.tsv, metrics.jsonl, tb/ and, at the end, result.json.
#include <filesystem>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "train/preemption.h"

namespace hesp::train {

struct TrainOptions {
  std::filesystem::path run_dir;
  bool force = false;  // Resume even if the config or the data changed.
  bool log_all_ranks = false;
  int threads = 0;  // Per rank; 0 = cores / local ranks.
  int max_epochs_this_run =
      0;  // Stop (with a checkpoint, exit 75) after this many epochs; 0 = off.
  // Asked after every step whether to checkpoint or stop; nullptr = a PreemptionGuard on
  // run_dir (signals and CHECKPOINT_NOW, preemption.h). Not owned.
  StepActionSource* actions = nullptr;
};

// The phases (trainer.cc): set-up (run directory, data, model, resume, CAM boxes, loader),
// then per epoch train_epoch -> report_epoch -> evaluate_epoch (evaluation and selection),
// with TrainingCadence deciding log / evaluate / checkpoint / stop, and write_result.
// Returns the process exit code: 0 when finished, kExitPreempted after a preemption
// checkpoint. Throws UserError / ConfigError for user errors.
int run_training(const config::Experiment& exp, const TrainOptions& options,
                 comm::Communicator& comm);

}  // namespace hesp::train
