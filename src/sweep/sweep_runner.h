#pragma once
// Runs a sweep plan under one MPI world.
//
// Scheduling: the world is split into groups of `group_size` ranks (comm.split). There is
// no dedicated coordinator rank: the leader (rank 0) of every group, world rank 0 included,
// claims the next unclaimed run in longest-first order by creating
// <out>/.claims/<session>/<index> with O_EXCL, so a group that becomes free takes the
// longest run left, on any number of nodes that share the output folder. The leader
// broadcasts the claimed index to its group, which trains it data-parallel with
// SweepOptions::train_run (the CLI passes train::run_training: the sweep knows nothing of
// the trainer, docs/architecture.md) and the group communicator in <out>/<run rel_dir>.
//
// A run whose result.json holds its config hash is skipped; an interrupted one resumes
// from its checkpoints (run_training does that). A run that throws is recorded with its
// error in <run_dir>/sweep_status.json and in <out>/sweep_summary.json, and the sweep goes
// on. A run that fails its preconditions (PlannedRun::precondition_error) is recorded as
// failed with that reason before anything trains, and never started.
//
// Preemption: SIGUSR1 / SIGTERM set the process's one stop flag (util/stop_signal.h;
// `hesp sweep` installs the handler before it plans). Whenever it arrives (while the sweep
// plans or opens data, during a run's set-up, steps, evaluation or checkpoint, or between
// two runs) the running runs checkpoint, nothing new starts, and every rank returns
// kExitPreempted (75); a rerun skips the finished runs and resumes the others. A stop after
// the last run, with every run finished, returns 0.
#include <filesystem>
#include <functional>

#include "comm/communicator.h"
#include "sweep/sweep_plan.h"

namespace hesp::sweep {

// One run for SweepOptions::train_run: where it writes and the per-rank share of cores.
struct RunRequest {
  std::filesystem::path run_dir;  // <out>/<run rel_dir>, created before the call.
  int threads = 0;                // Intra-op threads per rank, 0 = the process default.
  bool log_all_ranks = false;
};

// Trains `exp` data-parallel on `group`; returns the run's exit code (util/errors.h) or
// throws as train::run_training does (a UserError for a user error, kExitDiverged, ...).
using RunTrainer = std::function<int(const config::Experiment& exp, const RunRequest& request,
                                     comm::Communicator& group)>;

struct SweepOptions {
  RunTrainer train_run;  // Required: what trains each claimed run.
  std::filesystem::path out;
  int group_size = 1;
  int run_index = -1;  // >= 0: only this run, with the whole world (SLURM job arrays).
  int threads = 0;
  bool log_all_ranks = false;
};

// Exit code: 0 when every run finished, 75 when preempted with runs left, 1 when some run failed
// (with run_index: 2 when that run fails its preconditions).
int run_sweep(const SweepPlan& plan, const SweepOptions& options, comm::Communicator& world);

// True when <out>/<rel_dir>/result.json exists and holds the run's config hash.
bool run_finished(const PlannedRun& run, const std::filesystem::path& out);

// Writes <out>/sweep_summary.json from the state of every run folder.
void write_summary(const SweepPlan& plan, const std::filesystem::path& out);

}  // namespace hesp::sweep
