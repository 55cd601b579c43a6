#include "train/checkpoint_resume.h"

#include <glog/logging.h>

#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "comm/root_decision.h"
#include "config/config_loader.h"
#include "run/run_identity.h"
#include "util/errors.h"

namespace hesp::train {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Flattens text format into "a.b.c" -> value; repeated occurrences join with ", " in
// order, so that a reordered repeated field still shows as a change.
std::map<std::string, std::string> flatten_text_config(const std::string& text) {
  std::map<std::string, std::string> out;
  std::vector<std::string> scope;
  std::istringstream in(text);
  std::string raw;
  auto prefix = [&] {
    std::string p;
    for (const auto& s : scope) p += s + ".";
    return p;
  };
  while (std::getline(in, raw)) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line == "}" || line == ">") {
      if (!scope.empty()) scope.pop_back();
      continue;
    }
    if (line.back() == '{' || line.back() == '<') {
      std::string name = trim(line.substr(0, line.size() - 1));
      if (!name.empty() && name.back() == ':') name = trim(name.substr(0, name.size() - 1));
      scope.push_back(name);
      continue;
    }
    const size_t colon = line.find(':');
    const std::string key =
        prefix() + trim(colon == std::string::npos ? line : line.substr(0, colon));
    const std::string value = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
    auto [it, inserted] = out.emplace(key, value);
    if (!inserted) it->second += ", " + value;
  }
  return out;
}

std::string short_hash(const std::string& h) { return h.empty() ? "(none)" : h; }

// Where a config text's data and weights are ("?" when the text does not parse).
struct Locations {
  std::string manifests = "?";
  std::string weights = "?";
};
Locations locations_of(const std::string& config_text) {
  Locations l;
  config::Experiment exp;
  try {
    config::parse_text_strict(config_text, "checkpoint config", &exp);
  } catch (const UserError&) {
    return l;
  }
  l.manifests = "[";
  for (int i = 0; i < exp.data().manifests_size(); ++i) {
    l.manifests += (i ? ", " : "") + exp.data().manifests(i);
  }
  l.manifests += "]";
  l.weights = exp.model().clip_weights();
  return l;
}

}  // namespace

std::string describe_config_diff(const std::string& before, const std::string& after,
                                 size_t max_lines) {
  const auto a = flatten_text_config(before);
  const auto b = flatten_text_config(after);
  std::set<std::string> keys;
  for (const auto& kv : a) keys.insert(kv.first);
  for (const auto& kv : b) keys.insert(kv.first);
  std::vector<std::string> lines;
  for (const auto& k : keys) {
    const auto ia = a.find(k);
    const auto ib = b.find(k);
    const std::string va = ia == a.end() ? "(unset)" : ia->second;
    const std::string vb = ib == b.end() ? "(unset)" : ib->second;
    if (va != vb) lines.push_back(k + ": " + va + " -> " + vb);
  }
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max_lines; ++i) out += "  " + lines[i] + "\n";
  if (lines.size() > max_lines) {
    out += "  ... and " + std::to_string(lines.size() - max_lines) + " more\n";
  }
  return out;
}

void check_resume_compatible(const checkpoint::CheckpointState& ckpt, const std::string& ckpt_path,
                             const ResumeRequest& request) {
  // --- the config: the same, or the same but for where the data and weights are ---
  std::string problems;
  const bool same_config = ckpt.config_hash == request.config_hash;
  const bool only_moved = !same_config && !request.config_identity.empty() &&
                          run::config_identity_of_text(ckpt.config_text) == request.config_identity;
  if (!same_config && !only_moved) {
    problems += "the config changed: checkpoint config hash " + short_hash(ckpt.config_hash) +
                ", current config hash " + short_hash(request.config_hash) + "\n";
    if (!ckpt.config_text.empty() && !request.config_text.empty()) {
      const std::string diff = describe_config_diff(ckpt.config_text, request.config_text);
      if (!diff.empty()) problems += "changed fields (checkpoint -> current):\n" + diff;
    }
  }
  const Locations before = locations_of(ckpt.config_text);
  const Locations now = locations_of(request.config_text);
  // --- the data, by content ---
  const bool same_data = ckpt.manifest_fingerprint == request.manifest_fingerprint ||
                         (!request.legacy_manifest_fingerprint.empty() &&
                          ckpt.manifest_fingerprint == request.legacy_manifest_fingerprint);
  if (!same_data) {
    problems += "the data changed (data.manifests " + before.manifests + " -> " + now.manifests +
                "): checkpoint manifest fingerprint " + short_hash(ckpt.manifest_fingerprint) +
                ", current manifest fingerprint " + short_hash(request.manifest_fingerprint) + "\n";
    const auto lines = ckpt.blobs.find(run::kManifestLinesBlob);
    if (lines != ckpt.blobs.end() && !request.manifest_lines.empty()) {
      problems += "changed manifest content (checkpoint -> current):\n" +
                  run::describe_line_diff(lines->second, request.manifest_lines);
    }
  }
  // --- the CLIP weights, by content ---
  const auto weights = ckpt.blobs.find(run::kWeightsHashBlob);
  if (weights != ckpt.blobs.end()) {
    if (weights->second != request.clip_weights_sha256) {
      problems += "the CLIP weights changed: the checkpoint was trained with " + before.weights +
                  " (sha256 " + weights->second + "), model.clip_weights is now " + now.weights +
                  " (sha256 " + short_hash(request.clip_weights_sha256) + ")\n";
    }
  } else if (only_moved && before.weights != now.weights) {
    problems += "model.clip_weights moved (" + before.weights + " -> " + now.weights +
                ") and the checkpoint has no weights hash to compare them by\n";
  }
  if (problems.empty()) {
    if (only_moved) {
      LOG(INFO) << "resuming " << ckpt_path
                << " with the same data and CLIP weights at a new path (identity by content: "
                   "manifest fingerprint "
                << request.manifest_fingerprint << ", weights sha256 "
                << request.clip_weights_sha256 << "):\n"
                << describe_config_diff(ckpt.config_text, request.config_text);
    }
    return;
  }
  if (request.force) {
    LOG(WARNING) << "resuming from " << ckpt_path << " although (forced):\n" << problems;
    return;
  }
  throw UserError("refusing to resume from " + ckpt_path + ":\n" + problems +
                      "Use a new run directory, or force the resume if the change is intended.",
                  kExitConfigError);
}

std::optional<checkpoint::LoadedCheckpoint> resolve_resume(comm::Communicator& comm,
                                                           const checkpoint::CheckpointStore& store,
                                                           const ResumeRequest& request) {
  // Rank 0's decision: the checkpoint's path (its bytes follow), or "" for none.
  std::optional<checkpoint::VerifiedCheckpointFile> file;
  const std::string path = comm::decide_on_root(comm, [&] {
    file = request.explicit_path.empty() ? store.latest_valid_file()
                                         : checkpoint::read_checkpoint_file(request.explicit_path);
    return file ? file->path.string() : std::string();
  });
  if (path.empty()) return std::nullopt;

  std::string bytes = comm.is_root() ? std::move(file->bytes) : std::string();
  comm.broadcast_bytes(bytes, 0);
  checkpoint::LoadedCheckpoint loaded;
  loaded.path = path;
  if (comm.is_root()) {
    loaded.state = std::move(file->state);
  } else {
    loaded.state = checkpoint::parse_checkpoint(bytes, path + " (received from rank 0)");
  }
  check_resume_compatible(loaded.state, path, request);
  if (comm.is_root()) {
    LOG(INFO) << "resuming from " << path << " (epoch " << loaded.state.epoch << ", step "
              << loaded.state.step << ")";
  }
  return loaded;
}

}  // namespace hesp::train
