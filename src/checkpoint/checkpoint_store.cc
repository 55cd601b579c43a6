#include "checkpoint/checkpoint_store.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <utility>

#include "comm/root_decision.h"
#include "util/errors.h"
#include "util/failpoint.h"
#include "util/fs.h"
#include "util/stop_signal.h"

namespace hesp::checkpoint {
namespace stdfs = std::filesystem;
namespace {

constexpr char kPrefix[] = "ckpt-";
constexpr char kSuffix[] = ".hespckpt";

bool parse_digits(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool parse_checkpoint_name(const std::string& name, int64_t* epoch, int64_t* step) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string middle =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  const size_t dash = middle.find('-');
  if (dash == std::string::npos) return false;
  return parse_digits(middle.substr(0, dash), epoch) && parse_digits(middle.substr(dash + 1), step);
}

CheckpointStore::CheckpointStore(stdfs::path run_dir, int keep_last)
    : dir_(std::move(run_dir) / "checkpoints"), keep_last_(keep_last) {}

stdfs::path CheckpointStore::path_for(int64_t epoch, int64_t step) const {
  CHECK_GE(epoch, 0);
  CHECK_GE(step, 0);
  char name[64];
  std::snprintf(name, sizeof(name), "%s%06lld-%010lld%s", kPrefix, static_cast<long long>(epoch),
                static_cast<long long>(step), kSuffix);
  return dir_ / name;
}

std::vector<stdfs::path> CheckpointStore::list() const {
  std::vector<std::tuple<int64_t, int64_t, stdfs::path>> found;
  std::error_code ec;
  if (!stdfs::is_directory(dir_, ec)) return {};
  for (const auto& entry : stdfs::directory_iterator(dir_, ec)) {
    int64_t epoch = 0, step = 0;
    if (entry.is_regular_file(ec) &&
        parse_checkpoint_name(entry.path().filename().string(), &epoch, &step)) {
      found.emplace_back(epoch, step, entry.path());
    }
  }
  if (ec) throw UserError("cannot list checkpoints in " + dir_.string() + ": " + ec.message());
  // Numeric order, so that an epoch beyond the zero padding still sorts right.
  std::sort(found.begin(), found.end());
  std::vector<stdfs::path> out;
  for (auto& f : found) out.push_back(std::get<2>(f));
  return out;
}

stdfs::path CheckpointStore::save(const CheckpointState& state) const {
  fs::ensure_writable_directory(dir_);
  const stdfs::path path = path_for(state.epoch, state.step);
  const auto bytes = serialize_checkpoint(state);
  // Tests of a stop signal while a checkpoint is written hold rank 0 here, the other ranks
  // waiting for it in save_on_root (util/failpoint.h).
  util::failpoint("train.checkpoint_writing", util::stop_requested);
  fs::atomic_write_file(path, bytes);
  LOG(INFO) << "checkpoint written: " << path.string();

  // Only after the new file is durable: drop the oldest beyond keep_last, and temp files
  // left by a writer that died mid-write (only rank 0 ever writes here).
  const auto all = list();
  if (keep_last_ > 0 && all.size() > static_cast<size_t>(keep_last_)) {
    for (size_t i = 0; i + keep_last_ < all.size(); ++i) {
      std::error_code ec;
      stdfs::remove(all[i], ec);
      if (ec) LOG(WARNING) << "cannot delete old checkpoint " << all[i] << ": " << ec.message();
    }
  }
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 &&
        name.find(std::string(kSuffix) + ".tmp.") != std::string::npos) {
      stdfs::remove(entry.path(), ec);
    }
  }
  return path;
}

stdfs::path CheckpointStore::save_on_root(comm::Communicator& comm,
                                          const CheckpointState& state) const {
  return comm::decide_on_root(comm, [&] { return save(state).string(); });
}

VerifiedCheckpointFile read_checkpoint_file(const stdfs::path& path) {
  VerifiedCheckpointFile f;
  f.path = path;
  f.bytes = fs::read_file(path);
  f.state = parse_checkpoint(f.bytes, path.string());
  return f;
}

std::optional<VerifiedCheckpointFile> CheckpointStore::latest_valid_file() const {
  const auto all = list();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      return read_checkpoint_file(*it);
    } catch (const UserError& e) {
      // Parse errors start with "checkpoint <path>: "; say the path once.
      std::string why = e.what();
      const std::string prefix = "checkpoint " + it->string() + ": ";
      if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
      LOG(WARNING) << "skipping damaged checkpoint " << it->string() << ": " << why;
    }
  }
  return std::nullopt;
}

std::optional<LoadedCheckpoint> CheckpointStore::latest_valid() const {
  auto f = latest_valid_file();
  if (!f) return std::nullopt;
  return LoadedCheckpoint{std::move(f->path), std::move(f->state)};
}

}  // namespace hesp::checkpoint
