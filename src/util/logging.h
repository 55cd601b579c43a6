#pragma once
// glog set-up for a multi-rank job: every line carries the rank, rank 0 logs INFO to
// stderr, the other ranks only WARNING and above (unless log_all_ranks), and each rank
// also writes every line to <run_dir>/logs/rank<N>.log.
#include <filesystem>
#include <string>

namespace hesp::logging {

// Call once at the top of main, before the rank is known.
void init(const char* argv0);

// Call when the rank is known. An empty run_dir means no per-rank file.
void configure_for_rank(int rank, bool log_all_ranks, const std::filesystem::path& run_dir = {});

// Stops writing the per-rank file (flushes and closes it).
void close_rank_file();

int current_rank();

// Records a fatal user error in the per-rank log file (if any) without echoing it on
// stderr, where the caller prints it once in plain words.
void record_error(const std::string& message);

}  // namespace hesp::logging
