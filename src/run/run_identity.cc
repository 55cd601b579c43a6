#include "run/run_identity.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "config/config_loader.h"
#include "data/format/manifest_io.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp::run {
namespace {

namespace stdfs = std::filesystem;

config::Experiment without_locations(config::Experiment exp) {
  // Keep the number of manifests (their order is part of the data identity).
  for (auto& m : *exp.mutable_data()->mutable_manifests()) m.clear();
  exp.mutable_model()->clear_clip_weights();
  return exp;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

stdfs::path manifest_file(const std::string& path) {
  const stdfs::path p(path);
  return stdfs::is_directory(p) ? p / "manifest.pbtxt" : p;
}

std::string config_identity(const config::Experiment& exp) {
  return config::config_hash(without_locations(exp));
}

std::string config_identity_of_text(const std::string& config_text) {
  if (config_text.empty()) return "";
  config::Experiment exp;
  try {
    config::parse_text_strict(config_text, "checkpoint config", &exp);
  } catch (const UserError&) {
    return "";  // A config of another hesp version: compared by its full hash only.
  }
  return config_identity(exp);
}

DataIdentity data_identity(const config::Experiment& exp) {
  DataIdentity id;
  std::string bytes;
  std::ostringstream lines;
  for (int i = 0; i < exp.data().manifests_size(); ++i) {
    const stdfs::path file = manifest_file(exp.data().manifests(i));
    bytes += fs::read_file(file);
    const data::Manifest m = data::read_manifest(file);
    // What the clips are: not when, where from or by which tool version they were packed.
    data::Manifest header;
    *header.mutable_params() = m.params();
    *header.mutable_class_names() = m.class_names();
    *header.mutable_splits() = m.splits();
    *header.mutable_counts() = m.counts();
    header.set_num_clips(m.num_clips());
    lines << "manifest " << i << " content sha256 " << hash::sha256_hex(header.SerializeAsString())
          << "\n";
    for (const auto& s : m.shards()) {
      lines << "manifest " << i << " shard " << s.file() << " clips " << s.num_clips() << " bytes "
            << s.size_bytes() << " sha256 " << s.sha256() << "\n";
    }
  }
  id.lines = lines.str();
  id.fingerprint = hash::sha256_hex(id.lines);
  id.legacy_fingerprint = hash::sha256_hex(bytes);
  return id;
}

std::string weights_sha256(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, int64_t, int64_t>, std::string> cache;
  std::error_code ec;
  const stdfs::path abs = stdfs::absolute(path, ec);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UserError("cannot read CLIP weights " + path + " to hash them");
  }
  const auto key =
      std::make_tuple(abs.string(), static_cast<int64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const std::string sha = hash::sha256_file_hex(path);
  const std::lock_guard<std::mutex> lock(mutex);
  cache[key] = sha;
  return sha;
}

std::string describe_line_diff(const std::string& before, const std::string& after,
                               size_t max_lines) {
  const auto a = split_lines(before), b = split_lines(after);
  const std::set<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  std::vector<std::string> out;
  for (const auto& l : a) {
    if (!sb.count(l)) out.push_back("- " + l);
  }
  for (const auto& l : b) {
    if (!sa.count(l)) out.push_back("+ " + l);
  }
  std::string text;
  for (size_t i = 0; i < out.size() && i < max_lines; ++i) text += "  " + out[i] + "\n";
  if (out.size() > max_lines) {
    text += "  ... and " + std::to_string(out.size() - max_lines) + " more\n";
  }
  return text;
}

}  // namespace hesp::run
