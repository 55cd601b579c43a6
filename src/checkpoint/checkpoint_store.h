#pragma once
// A run's checkpoints: <run_dir>/checkpoints/ckpt-<epoch:06>-<step:010>.hespckpt.
// Written atomically (temp file, fsync, rename, directory fsync) by rank 0; the newest
// keep_last files are kept. Reading walks newest first and skips damaged files with a
// warning naming them, so a crash mid-write or a bad disk block costs one checkpoint,
// not the run.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_format.h"
#include "comm/communicator.h"

namespace hesp::checkpoint {

struct LoadedCheckpoint {
  std::filesystem::path path;
  CheckpointState state;
};

// A checkpoint file that passed verification, with its raw bytes (for broadcasting).
struct VerifiedCheckpointFile {
  std::filesystem::path path;
  std::string bytes;
  CheckpointState state;
};

// Reads and verifies one file; throws UserError naming it.
VerifiedCheckpointFile read_checkpoint_file(const std::filesystem::path& path);

class CheckpointStore {
 public:
  // keep_last <= 0 keeps every checkpoint.
  CheckpointStore(std::filesystem::path run_dir, int keep_last);

  const std::filesystem::path& directory() const { return dir_; }
  std::filesystem::path path_for(int64_t epoch, int64_t step) const;

  // Writes the checkpoint, then deletes all but the newest keep_last. Call on ONE rank.
  // Throws UserError on an I/O failure (the previous checkpoints are left untouched).
  std::filesystem::path save(const CheckpointState& state) const;

  // Rank 0 saves; every rank returns the path or throws the same UserError, so that a
  // full disk on rank 0 stops the whole job instead of leaving the others waiting.
  std::filesystem::path save_on_root(comm::Communicator& comm, const CheckpointState& state) const;

  // Checkpoint files in the directory, oldest first (by epoch, then step).
  std::vector<std::filesystem::path> list() const;

  // The newest checkpoint that reads back intact; damaged ones are skipped with a
  // LOG(WARNING) naming the file. nullopt when there is none.
  std::optional<LoadedCheckpoint> latest_valid() const;
  // The same, keeping the verified bytes.
  std::optional<VerifiedCheckpointFile> latest_valid_file() const;

 private:
  std::filesystem::path dir_;
  int keep_last_;
};

// Parses "ckpt-<epoch>-<step>.hespckpt"; false for any other name.
bool parse_checkpoint_name(const std::string& filename, int64_t* epoch, int64_t* step);

}  // namespace hesp::checkpoint
