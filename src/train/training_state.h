#pragma once
// The training state: everything about where training stands that is not a learnable
// tensor (anchors: Marian's TrainingState, Caffe's SolverState). One typed object with
//   position  the next step to run (epoch, step within the epoch; data::SamplerPosition),
//   epoch     the running sums of the epoch in progress (EpochStatistics),
//   schedule  the learning-rate schedule, which gives the rate of any epoch.
// Each owner saves and restores its own part of a checkpoint: the state its position and
// running sums, the optimiser its momentum buffers, the model its learnable tensors, the
// CAM cache its boxes (see the save_/restore_ functions below).
#include <cstdint>
#include <map>
#include <string>

#include "checkpoint/checkpoint_format.h"
#include "comm/communicator.h"
#include "data/loader/sampler.h"
#include "model/grad_cam.h"
#include "model/hesp_model.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"

namespace hesp::train {

// This rank's running sums over the steps of one epoch. The epoch's record reports
// means over its steps (averaged over ranks), including the steps run before a resume.
struct EpochStatistics {
  int64_t steps = 0;                        // Steps summed so far.
  std::map<std::string, double> loss_sums;  // "loss", "loss/<term>": sums over the steps.
  double data_wait_s = 0;                   // Time waiting for the loader (this rank).
  double allreduce_s = 0;                   // All-reduce time backward did not hide (this rank).
  double step_s = 0;                        // Whole steps, wall clock (this rank).
  // Steps whose loss or gradient was not finite and whose update was skipped
  // (train.non_finite.action skip_step); not in `steps` nor in the sums. Same on every rank.
  int64_t skipped_steps = 0;

  // Adds one step's values.
  void add_step(const std::map<std::string, double>& losses, double data_wait, double allreduce,
                double step);
  // Collective: the loss means over the steps, averaged over ranks (each rank's mean of
  // its steps, then the mean of those; every rank runs the same number of steps).
  std::map<std::string, double> mean_losses(comm::Communicator& comm) const;
  // Collective: a copy whose loss sums are the mean over ranks of the ranks' sums (what a
  // checkpoint keeps: averaging over ranks is linear, so restoring it on every rank and
  // summing on gives the same epoch means as an uninterrupted run, whatever the world size).
  EpochStatistics averaged_over_ranks(comm::Communicator& comm) const;
};

struct TrainingState {
  explicit TrainingState(optim::LrSchedule s) : schedule(std::move(s)) {}

  data::SamplerPosition position;  // The next step to run.
  EpochStatistics epoch;           // The epoch in progress (steps before `position`).
  optim::LrSchedule schedule;

  // The learning rate of the position's epoch (spec §8).
  double lr() const { return schedule.lr(static_cast<int>(position.epoch)); }
  // Moves to the first step of the next epoch and clears the running sums.
  void start_next_epoch();

  // Its part of a checkpoint: position and running sums (rank 0's timings; the loss sums
  // as given, see EpochStatistics::averaged_over_ranks).
  void save(checkpoint::CheckpointState* ckpt) const;
  void restore(const checkpoint::CheckpointState& ckpt);
};

// The other owners' parts of a checkpoint. restore_* throw UserError naming `source` when
// a part is missing or has the wrong shape.
void save_model(const model::HespModelImpl& model, checkpoint::CheckpointState* ckpt);
void restore_model(const checkpoint::CheckpointState& ckpt, const std::string& source,
                   model::HespModelImpl& model);
void save_optimizer(const optim::Sgd& sgd, checkpoint::CheckpointState* ckpt);
void restore_optimizer(const checkpoint::CheckpointState& ckpt, optim::Sgd& sgd);
void save_cam_cache(const model::CamCache& cache, checkpoint::CheckpointState* ckpt);
// Leaves `cache` as it is when the checkpoint has none.
void restore_cam_cache(const checkpoint::CheckpointState& ckpt, const std::string& source,
                       model::CamCache* cache);
// The CPU generator's state (the loader's own RNGs are seeded from the position).
void save_rng(checkpoint::CheckpointState* ckpt);
void restore_rng(const checkpoint::CheckpointState& ckpt);

}  // namespace hesp::train
