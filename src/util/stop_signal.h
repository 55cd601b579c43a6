#pragma once
// The process's one stop source: the signals with which a scheduler announces the end of a
// job (SLURM: SIGTERM at the time limit, SIGUSR1 with `--signal=USR1@<secs>`), and SIGHUP
// as a request for a checkpoint without stopping. The handler only sets lock-free atomic
// flags (async-signal-safe); whoever runs a long phase (the trainer after every step and
// every epoch, the sweep between runs, hesp-pack convert between clips) polls them and
// stops at its next safe point. Installed once, first thing in every long-running command
// (`hesp train`, `hesp sweep`, `hesp-pack convert`), and never uninstalled: a signal that
// arrives while the process plans, opens data, evaluates, writes a checkpoint or sits
// between two runs sets the flag instead of killing the process (138 = 128 + SIGUSR1).
// The collective agreement on the flag (every rank stops at the same point even when only
// one got the signal) is comm::any_rank (comm/root_decision.h).

namespace hesp::util {

// Installs the flag-setting handlers for SIGUSR1 and SIGTERM (stop) and SIGHUP
// (checkpoint) for the rest of the process's life (SA_RESTART: a blocking read or write is
// resumed, not failed with EINTR). Idempotent. Aborts (PCHECK) if sigaction fails.
void catch_stop_signals();

// True once this process got SIGUSR1 or SIGTERM; sticky (no communication).
bool stop_requested();

// The signal that asked to stop (SIGUSR1 or SIGTERM), 0 when none did yet.
int stop_signal();

// True when SIGHUP arrived since the last call; consumes the request (a SIGHUP that
// arrives after the load is kept for the next call).
bool take_checkpoint_request();

// For tests: clears both flags as if no signal had arrived.
void clear_stop_flags();

}  // namespace hesp::util
