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

// Every failpoint of hesp, for the check of HESP_FAILPOINTS.
//   train.checkpoint_saved   every rank, after a checkpoint was written (TrainingRun)
//   train.epoch_logged       every rank, after an epoch's record was written and before
//                            its checkpoint (a crash between checkpoints; TrainingRun)
inline constexpr std::string_view kFailpointNames[] = {"train.checkpoint_saved",
                                                       "train.epoch_logged"};

// Acts on the failpoint `name` when HESP_FAILPOINTS names it; otherwise returns at once.
// `released`: for pause, returns true when the process is asked to stop (polled every
// 20 ms); may be empty. Throws ConfigError for a malformed HESP_FAILPOINTS.
void failpoint(std::string_view name, const std::function<bool()>& released = {});

}  // namespace hesp::util
