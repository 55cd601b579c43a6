#pragma once
// What a run is, by content rather than by path (docs/training.md, "Identity by content").
// Data and CLIP weights are often staged to a new node-local folder for every job; a
// requeued job or a rerun sweep must recognise the same bytes at another path, and refuse
// other bytes at the same path. Three parts:
//   config identity   sha256 of the effective config's text with the location fields
//                     (kLocationFields) cleared: everything but where the inputs are;
//   data identity     sha256 over the manifests' content (pack parameters, classes,
//                     splits, counts, and every shard's name, clip count, size and
//                     sha256), not the manifest files' bytes or paths;
//   weights identity  sha256 of the CLIP weights file.
// Checkpoints keep the data identity (manifest_fingerprint plus the per-shard lines) and
// the weights hash; result.json keeps all three.
#include <filesystem>
#include <string>

#include "checkpoint/checkpoint_format.h"
#include "config/experiment.pb.h"

namespace hesp::run {

// The config fields that say where an input is, not what it is.
inline constexpr const char* kLocationFields[] = {"data.manifests", "model.clip_weights"};

// Checkpoint blobs that carry the identity (absent in checkpoints of hesp before them).
inline constexpr const char* kWeightsHashBlob = "identity/clip_weights_sha256";
inline constexpr const char* kManifestLinesBlob = "identity/manifest_shards";

// sha256 (hex) of config::to_text(exp) with the location fields cleared.
std::string config_identity(const config::Experiment& exp);
// The same for a config text as stored in a checkpoint; "" when it does not parse.
std::string config_identity_of_text(const std::string& config_text);

struct DataIdentity {
  std::string fingerprint;         // sha256 (hex) of `lines`.
  std::string legacy_fingerprint;  // sha256 of the manifest files' bytes (older checkpoints).
  // One line per manifest header and per shard, e.g.
  //   "manifest 0 shard shard-00000.h5 clips 28 bytes 123456 sha256 9f2c..."
  std::string lines;
};

// The manifest file of a data.manifests entry: `path`/manifest.pbtxt for a packed folder,
// else `path` itself.
std::filesystem::path manifest_file(const std::string& path);

// Reads every manifest of data.manifests (a packed folder or its manifest.pbtxt). Throws
// UserError naming an unreadable manifest.
DataIdentity data_identity(const config::Experiment& exp);

// sha256 (hex) of a file's bytes, remembered for the process per (absolute path, size,
// modification time), so that a sweep hashes its weights once. Throws UserError naming an
// unreadable file.
std::string weights_sha256(const std::string& path);

// The lines of `before` missing from `after` and the other way round ("- ..." / "+ ..."),
// at most max_lines (then a count of the rest). For naming the shards that changed.
std::string describe_line_diff(const std::string& before, const std::string& after,
                               size_t max_lines = 6);

}  // namespace hesp::run
