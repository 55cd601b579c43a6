#pragma once
// The clips a run reads: one or more packed datasets (manifest + HDF5 shards, see
// docs/datasets.md), filtered by split and class, with labels mapped onto the known
// classes of an open-set split.
//
// Opening verifies every shard's sha256 against its manifest and reads the per-clip
// metadata, then closes the files again. Frame reads reopen shards lazily, in the process
// that reads (so a Dataset built before a fork is safe to read after it), one handle per
// shard per process, every HDF5 call under the process-wide hdf5_mutex().
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "data/format/h5.h"
#include "data/format/manifest.pb.h"
#include "data/format/shard_reader.h"

namespace hesp::data {

// Serialises every HDF5 call of the loader (Debian's libhdf5 takes one global lock
// anyway; ours makes it explicit and lets JPEG decoding run outside it).
std::mutex& hdf5_mutex();

enum class UnknownClasses {
  kMinusOne,  // Keep clips of non-known classes, mapped label -1 (open-set evaluation).
  kExclude,   // Drop them (training on known classes).
};

struct DatasetOptions {
  // Packed directories or their manifest.pbtxt; more than one = dataset fusion.
  std::vector<std::filesystem::path> manifests;
  // Dataset class name -> canonical name, applied to every manifest (anger -> Angry).
  std::vector<std::pair<std::string, std::string>> class_map;
  // Keep only these source splits (exact names, e.g. "train", "set_1/test"); empty = all.
  std::vector<std::string> splits;
  // Keep only these canonical classes; empty = all (unlabelled clips included).
  std::vector<std::string> classes;
  // Canonical known classes in label order (0..K-1); empty = every class of the
  // manifests, in order of first appearance (closed set).
  std::vector<std::string> known_classes;
  UnknownClasses unknown = UnknownClasses::kMinusOne;
  bool verify_checksums = true;
};

// One selected clip.
struct ClipInfo {
  int64_t index = 0;  // Position in the Dataset (0..size-1): the RNG key.
  std::string clip_id;
  int source = 0;              // Which manifest.
  int shard = 0;               // Index into Dataset::shards().
  int64_t row = 0;             // Row inside the shard.
  int32_t dataset_label = -1;  // Label in its own manifest (-1 = unlabelled).
  std::string class_name;      // Canonical class name ("" when unlabelled).
  int32_t label = -1;          // Mapped: known-class index, or -1.
  std::string split;
  std::string compound_label;
  int32_t source_num_frames = 0;
};

struct ShardMeta {
  std::filesystem::path path;
  // Header and frame index as read by the shard format's one reader (shard_reader.h);
  // the per-clip records are moved into the Dataset's ClipInfo and not kept here.
  ShardIndex index;
};

// A clip's stored frames as read from its shard, not yet decoded.
struct EncodedClip {
  bool jpeg = true;
  int frames = 0;              // Frames this clip stores (all its source frames by default).
  int size = 0;                // S stored.
  std::vector<uint8_t> bytes;  // jpeg: all frames back to back; raw: T*S*S*3.
  std::vector<uint64_t> frame_offsets;  // jpeg: T+1 offsets into bytes.
};

class Dataset {
 public:
  explicit Dataset(const DatasetOptions& options);
  ~Dataset();
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  int64_t size() const { return static_cast<int64_t>(clips_.size()); }
  const ClipInfo& clip(int64_t index) const { return clips_.at(static_cast<size_t>(index)); }
  const std::vector<ClipInfo>& clips() const { return clips_; }
  // Known classes, label order.
  const std::vector<std::string>& known_classes() const { return known_; }
  const std::vector<ShardMeta>& shards() const { return shards_; }
  const std::vector<Manifest>& manifests() const { return manifests_; }
  // Index of a clip id, or -1.
  int64_t find(const std::string& clip_id) const;

  // A Dataset of the clips at `indices` (in that order, re-indexed 0..n-1) sharing this
  // one's manifests, shards and known classes; nothing is re-read or re-verified. Used for
  // the validation hold-out (validation_holdout.h). CHECK-fails on an index out of range
  // or repeated.
  std::unique_ptr<Dataset> subset(const std::vector<int64_t>& indices) const;

  // Reads one clip's stored frames with one HDF5 read, under hdf5_mutex().
  EncodedClip read(int64_t index) const;
  // Reads into `out` (reusing its buffers).
  void read(int64_t index, EncodedClip* out) const;

 private:
  Dataset() = default;                  // For subset().
  hid_t shard_handle(int shard) const;  // Caller holds hdf5_mutex().

  DatasetOptions options_;
  std::vector<Manifest> manifests_;
  std::vector<ShardMeta> shards_;
  std::vector<ClipInfo> clips_;
  std::vector<std::string> known_;
  std::map<std::string, int64_t> by_id_;
  // Lazily opened per process (see the header comment); guarded by hdf5_mutex().
  mutable std::vector<std::unique_ptr<h5::Handle>> open_;
  mutable pid_t open_pid_ = -1;
};

}  // namespace hesp::data
