#include "data/loader/dataset.h"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "data/format/manifest_io.h"
#include "data/format/shard_format.h"
#include "util/errors.h"
#include "util/hash.h"

namespace hesp::data {

namespace stdfs = std::filesystem;

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

namespace {

stdfs::path manifest_dir(const stdfs::path& p) {
  return stdfs::is_directory(p) ? p : p.parent_path();
}

// Checks size and sha256 of every shard of every manifest, several files at a time, and
// reports the first bad shard in manifest order (so the message does not depend on timing).
void verify_checksums(const std::vector<std::pair<stdfs::path, const ShardInfo*>>& files) {
  std::vector<std::string> errors(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < files.size();) {
      const auto& [path, info] = files[i];
      try {
        std::error_code ec;
        const auto bytes = stdfs::file_size(path, ec);
        if (ec) {
          errors[i] = "shard " + path.string() + " is missing or unreadable: " + ec.message();
        } else if (info->has_size_bytes() && static_cast<int64_t>(bytes) != info->size_bytes()) {
          errors[i] = "shard " + path.string() + " has " + std::to_string(bytes) +
                      " bytes, the manifest says " + std::to_string(info->size_bytes()) +
                      " (truncated or replaced; re-run hesp-pack convert)";
        } else if (const auto sum = hash::sha256_file_hex(path); sum != info->sha256()) {
          errors[i] = "shard " + path.string() + " fails its checksum (sha256 " + sum +
                      ", manifest " + info->sha256() +
                      "): the file is corrupt or was modified; re-run hesp-pack convert";
        }
      } catch (const std::exception& e) {
        errors[i] = "shard " + path.string() + ": " + e.what();
      }
    }
  };
  const size_t n =
      std::min<size_t>(files.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (!e.empty()) throw UserError(e);
  }
}

// Reads a shard's index through the shard format's reader and checks it against its
// manifest entry and the manifest's parameters and classes.
ShardMeta read_shard_meta(const stdfs::path& path, const Manifest& m, const ShardInfo& info) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  ShardMeta s;
  s.path = path;
  const std::string name = "shard " + path.string();
  // A short file is a truncated copy (also without checksum verification), not an HDF5
  // open failure.
  std::error_code size_ec;
  const auto on_disk = stdfs::file_size(path, size_ec);
  if (!size_ec && info.has_size_bytes() && static_cast<int64_t>(on_disk) < info.size_bytes()) {
    throw UserError(name + " is truncated: " + std::to_string(on_disk) +
                    " bytes on disk, the manifest says " + std::to_string(info.size_bytes()) +
                    " (an interrupted copy? copy it again)");
  }
  {
    h5::Handle f = h5::open_file_read(path);
    s.index = read_shard_index(f.get(), name);
  }
  const ShardHeader& h = s.index.header;
  if (h.num_clips != info.num_clips()) {
    throw UserError(name + " holds " + std::to_string(h.num_clips) + " clips, the manifest says " +
                    std::to_string(info.num_clips()));
  }
  if (m.has_params() &&
      (h.frames_per_clip != m.params().frames_per_clip() || h.size != m.params().size() ||
       h.encoding != encoding_name(m.params().encoding()))) {
    throw UserError(name + ": attributes (" + h.encoding +
                    ", T=" + std::to_string(h.frames_per_clip) + ", S=" + std::to_string(h.size) +
                    ") differ from the manifest's params");
  }
  for (const auto& r : s.index.records) {
    if (r.label < -1 || r.label >= m.class_names_size()) {
      throw UserError(name + ": clip " + r.clip_id + " has label " + std::to_string(r.label) +
                      " outside the manifest's " + std::to_string(m.class_names_size()) +
                      " classes");
    }
  }
  return s;
}

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Dataset::Dataset(const DatasetOptions& options) : options_(options) {
  if (options_.manifests.empty()) throw ConfigError("data: no manifest given");
  std::map<std::string, std::string> class_map;
  for (const auto& [from, to] : options_.class_map) {
    if (class_map.count(from) && class_map[from] != to) {
      throw ConfigError("data.class_map maps '" + from + "' twice");
    }
    class_map[from] = to;
  }
  auto canonical = [&](const std::string& n) {
    const auto it = class_map.find(n);
    return it == class_map.end() ? n : it->second;
  };

  // Manifests, then checksums of every shard before anything else reads them.
  std::vector<std::pair<stdfs::path, const ShardInfo*>> files;
  for (const auto& p : options_.manifests) manifests_.push_back(read_manifest(p));
  for (size_t k = 0; k < manifests_.size(); ++k) {
    for (const auto& s : manifests_[k].shards()) {
      files.emplace_back(manifest_dir(options_.manifests[k]) / s.file(), &s);
    }
  }
  if (options_.verify_checksums) verify_checksums(files);

  // Every canonical class, in order of first appearance.
  std::vector<std::string> all_classes;
  std::set<std::string> mapped_from;
  for (const auto& m : manifests_) {
    for (const auto& c : m.class_names()) {
      if (class_map.count(c)) mapped_from.insert(c);
      if (!contains(all_classes, canonical(c))) all_classes.push_back(canonical(c));
    }
  }
  for (const auto& [from, to] : class_map) {
    if (!mapped_from.count(from)) {
      LOG(WARNING) << "data.class_map: no manifest has a class named '" << from << "'";
    }
  }
  known_ = options_.known_classes.empty() ? all_classes : options_.known_classes;
  for (const auto& k : known_) {
    if (!contains(all_classes, k)) {
      throw ConfigError("known class '" + k + "' is not a class of the dataset(s) (classes: " +
                        [&] {
                          std::string s;
                          for (const auto& c : all_classes) s += (s.empty() ? "" : ", ") + c;
                          return s;
                        }() +
                        "; use data.class_map to rename)");
    }
  }
  for (const auto& c : options_.classes) {
    if (!contains(all_classes, c)) throw ConfigError("class '" + c + "' is not in the dataset(s)");
  }

  size_t f = 0;
  for (size_t k = 0; k < manifests_.size(); ++k) {
    const Manifest& m = manifests_[k];
    for (const auto& s : m.shards()) {
      ShardMeta sm = read_shard_meta(files[f++].first, m, s);
      const int shard_index = static_cast<int>(shards_.size());
      for (size_t row = 0; row < sm.index.records.size(); ++row) {
        const auto& r = sm.index.records[row];
        if (!options_.splits.empty() && !contains(options_.splits, r.split)) continue;
        ClipInfo c;
        c.clip_id = r.clip_id;
        c.source = static_cast<int>(k);
        c.shard = shard_index;
        c.row = static_cast<int64_t>(row);
        c.dataset_label = r.label;
        c.class_name = r.label >= 0 ? canonical(m.class_names(r.label)) : "";
        if (!options_.classes.empty() && !contains(options_.classes, c.class_name)) continue;
        const auto known = std::find(known_.begin(), known_.end(), c.class_name);
        c.label = known == known_.end() ? -1 : static_cast<int32_t>(known - known_.begin());
        if (c.label < 0 && options_.unknown == UnknownClasses::kExclude) continue;
        c.split = r.split;
        c.compound_label = r.compound_label;
        c.source_num_frames = r.source_num_frames;
        c.index = static_cast<int64_t>(clips_.size());
        if (!by_id_.emplace(c.clip_id, c.index).second) {
          throw UserError("clip id '" + c.clip_id + "' appears twice (again in " +
                          sm.path.string() + "): clip ids must be unique across fused datasets");
        }
        clips_.push_back(std::move(c));
      }
      // The records live on in clips_; the frame index is all reads need.
      sm.index.records.clear();
      sm.index.records.shrink_to_fit();
      shards_.push_back(std::move(sm));
    }
  }
  open_.resize(shards_.size());
}

Dataset::~Dataset() {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  // Handles inherited through a fork belong to the parent: forget them, do not close.
  if (open_pid_ != getpid()) {
    for (auto& h : open_) (void)h.release();
  }
  open_.clear();
}

int64_t Dataset::find(const std::string& clip_id) const {
  const auto it = by_id_.find(clip_id);
  return it == by_id_.end() ? -1 : it->second;
}

std::unique_ptr<Dataset> Dataset::subset(const std::vector<int64_t>& indices) const {
  std::unique_ptr<Dataset> d(new Dataset());
  d->options_ = options_;
  d->manifests_ = manifests_;
  d->shards_ = shards_;
  d->known_ = known_;
  d->clips_.reserve(indices.size());
  for (const int64_t i : indices) {
    CHECK(i >= 0 && i < size()) << "subset index " << i << " outside 0.." << size() - 1;
    ClipInfo c = clips_[static_cast<size_t>(i)];
    c.index = static_cast<int64_t>(d->clips_.size());
    CHECK(d->by_id_.emplace(c.clip_id, c.index).second) << "subset repeats clip " << c.clip_id;
    d->clips_.push_back(std::move(c));
  }
  d->open_.resize(d->shards_.size());
  return d;
}

hid_t Dataset::shard_handle(int shard) const {
  const pid_t pid = getpid();
  if (open_pid_ != pid) {
    // First read in this process (or the first after a fork): start from no handles.
    // The parent's handles are not ours to close; leaking the small wrappers is deliberate.
    for (auto& h : open_) (void)h.release();
    open_pid_ = pid;
  }
  auto& h = open_[static_cast<size_t>(shard)];
  if (!h) h = std::make_unique<h5::Handle>(h5::open_file_read(shards_[shard].path));
  return h->get();
}

EncodedClip Dataset::read(int64_t index) const {
  EncodedClip out;
  read(index, &out);
  return out;
}

void Dataset::read(int64_t index, EncodedClip* out) const {
  const ClipInfo& c = clip(index);
  const ShardMeta& s = shards_[static_cast<size_t>(c.shard)];
  const ShardIndex& ix = s.index;
  const size_t row = static_cast<size_t>(c.row);
  const size_t first = ix.first_frame[row], t = ix.first_frame[row + 1] - first;
  out->jpeg = ix.jpeg();
  out->frames = static_cast<int>(t);
  out->size = ix.header.size;
  if (ix.jpeg()) {
    const uint64_t begin = ix.frame_offsets[first];
    out->frame_offsets.resize(t + 1);
    for (size_t j = 0; j <= t; ++j) out->frame_offsets[j] = ix.frame_offsets[first + j] - begin;
  } else {
    out->frame_offsets.clear();
  }
  out->bytes.resize(ix.clip_bytes(row));
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  read_clip_bytes(shard_handle(c.shard), ix, c.row, out->bytes.data(), s.path.string());
}

}  // namespace hesp::data
