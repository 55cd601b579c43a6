#pragma once
// Failpoints: named places where a test makes a process pause or exit, so that a test of a
// race (a preemption signal after the first checkpoint, a node lost mid-run, a signal
// while a checkpoint is written) depends on no clock. Anchors: FreeBSD's fail(9), TiKV's
// fail-rs, RocksDB's SyncPoint.
//
// Off unless the environment variable HESP_FAILPOINTS is set (one getenv per process; a
// failpoint that is off costs one branch):
//   HESP_FAILPOINTS="NAME=ACTION[;NAME=ACTION...]"
// ACTION:
//   pause(PATH)  block here until the process is asked to stop (the `released` predicate
//                that the call site passes: a preemption signal) or the file PATH exists;
//                a later process with the same environment (a requeued job) passes at once
//                once PATH exists. Waits at most 10 minutes, then ends the process (1).
//   exit(N)      flush the log and _exit(N) here, as a crash would (no destructors).
// The names are listed in `kFailpointNames` (docs/training.md, "Failpoints"); an unknown
// name or a malformed action is a config error (exit 2) at the first failpoint reached.
#include <functional>
#include <string_view>

namespace hesp::util {

// Every failpoint of hesp, for the check of HESP_FAILPOINTS (docs/training.md,
// "Failpoints"). The pause of each is released by a stop signal (util/stop_signal.h).
//   sweep.planned             every rank of `hesp sweep`, once the plan is made (the
//                             datasets opened), before the sweep starts (sweep_command)
//   sweep.between_runs        every rank of a sweep group, after a run returned, before
//                             the group claims the next one (sweep_runner)
//   train.evaluating          every rank, before an epoch's evaluation (test metrics or
//                             the validation hold-out; TrainingRun::evaluate_epoch)
//   train.checkpoint_writing  rank 0, a checkpoint serialised but not yet on disk, the
//                             other ranks waiting for it (CheckpointStore::save)
//   train.checkpoint_saved    every rank, after a checkpoint was written (TrainingRun)
//   train.epoch_logged        every rank, after an epoch's record was written and before
//                             its checkpoint (a crash between checkpoints; TrainingRun)
//   pack.shard_written        every rank of `hesp-pack convert`, after a shard and its
//                             sidecar were written (convert.cc)
inline constexpr std::string_view kFailpointNames[] = {
    "sweep.planned",          "sweep.between_runs", "train.evaluating",  "train.checkpoint_writing",
    "train.checkpoint_saved", "train.epoch_logged", "pack.shard_written"};

// Acts on the failpoint `name` when HESP_FAILPOINTS names it; otherwise returns at once.
// `released`: for pause, returns true when the process is asked to stop (polled every
// 20 ms); may be empty. Throws ConfigError for a malformed HESP_FAILPOINTS.
void failpoint(std::string_view name, const std::function<bool()>& released = {});

}  // namespace hesp::util
