#pragma once
// Resuming a run on every rank from the same checkpoint. Rank 0 alone looks at the disk
// (ranks may see a shared filesystem at different moments), decides, and broadcasts the
// verified bytes; every rank then parses identical bytes and runs the same compatibility
// check, so all ranks resume from the same state or all fail with the same message.
#include <filesystem>
#include <optional>
#include <string>

#include "checkpoint/checkpoint_store.h"
#include "comm/communicator.h"

namespace hesp::train {

struct ResumeRequest {
  // What the current run is; compared with what the checkpoint was written under.
  std::string config_hash;
  std::string manifest_fingerprint;
  std::string config_text;  // Effective config, to name the changed fields.
  // Identity by content (run_identity.h): a checkpoint whose config differs only in the
  // location fields resumes when its data and weights are the same bytes.
  std::string config_identity;
  std::string legacy_manifest_fingerprint;  // What checkpoints of older hesp hold.
  std::string manifest_lines;               // DataIdentity::lines, to name changed shards.
  std::string clip_weights_sha256;
  // Resume even when the config or the manifest changed (logged as a warning).
  bool force = false;
  // A specific file instead of the store's newest valid one. A damaged explicit file is
  // an error, never silently replaced by another.
  std::filesystem::path explicit_path;
};

// Collective: call on every rank. nullopt when there is nothing to resume from.
// Throws UserError (same message on every rank) for a damaged explicit file or an
// incompatible checkpoint without force.
std::optional<checkpoint::LoadedCheckpoint> resolve_resume(comm::Communicator& comm,
                                                           const checkpoint::CheckpointStore& store,
                                                           const ResumeRequest& request);

// Throws UserError (exit code 2) when `ckpt` was written under another config, other
// data or other CLIP weights, naming both hashes, the changed config fields, the changed
// shards and both weights files; with force, warns instead. A config that differs only in
// where the data and weights are (run_identity.h, kLocationFields) is the same run when
// their content is the same: it resumes, and the log says so.
void check_resume_compatible(const checkpoint::CheckpointState& ckpt, const std::string& ckpt_path,
                             const ResumeRequest& request);

// Field-level differences between two protobuf text-format configs, one per line:
// "optim.lr: 0.01 -> 0.02", "(unset)" for a field present on one side only. Empty when
// the texts are equivalent line for line. At most max_lines lines (+ a count of the rest).
std::string describe_config_diff(const std::string& before, const std::string& after,
                                 size_t max_lines = 20);

}  // namespace hesp::train
