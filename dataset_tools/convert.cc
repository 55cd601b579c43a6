#include "convert.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include <google/protobuf/text_format.h>
#include <opencv2/core.hpp>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "comm/root_decision.h"
#include "data/format/manifest_io.h"
#include "data/format/shard_format.h"
#include "data/format/shard_reader.h"
#include "data/format/shard_writer.h"
#include "importers.h"
#include "media/frame_source.h"
#include "progress.h"
#include "source_signature.h"
#include "text_lines.h"
#include "util/errors.h"
#include "util/failpoint.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/stop_signal.h"
#include "util/threads.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

struct Rejection {
  std::string clip_id, path, reason, detail;
};

// What one rank hands to rank 0.
struct RankResult {
  std::vector<data::ShardInfo> shards;
  std::vector<data::shard::ClipRecord> records;
  std::vector<std::string> hashes;  // Content hash per record (PackedClip::content_hash).
  std::vector<Rejection> rejections;
  std::string strict_error;
  int reused_shards = 0;
  bool stopped = false;  // A stop signal ended the packing after a complete shard.
  // The re-pack rule's counts over this rank's input clips (docs/datasets.md).
  int64_t reused_clips = 0, repacked_clips = 0, new_clips = 0;
  std::vector<std::string> repacked_ids;  // The first few, for the report.
};

json rejection_json(const Rejection& r) {
  return json::array({r.clip_id, r.path, r.reason, r.detail});
}
Rejection rejection_from(const json& j) { return {j[0], j[1], j[2], j[3]}; }

// Text that may hold bytes from the input (paths) is dumped with invalid UTF-8 replaced,
// never thrown on.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json record_json(const data::shard::ClipRecord& r) {
  return json::array(
      {r.clip_id, r.label, r.compound_label, r.split, r.source_num_frames, r.stored_num_frames});
}
data::shard::ClipRecord record_from(const json& j) {
  return {j[0].get<std::string>(), j[1].get<int32_t>(), j[2].get<std::string>(),
          j[3].get<std::string>(), j[4].get<int32_t>(), j.size() > 5 ? j[5].get<int32_t>() : 0};
}

json shard_json(const data::ShardInfo& s) {
  return {{"file", s.file()},
          {"num_clips", s.num_clips()},
          {"size_bytes", s.size_bytes()},
          {"sha256", s.sha256()}};
}
data::ShardInfo shard_from(const json& j) {
  data::ShardInfo s;
  s.set_file(j.at("file").get<std::string>());
  s.set_num_clips(j.at("num_clips").get<int64_t>());
  s.set_size_bytes(j.at("size_bytes").get<int64_t>());
  s.set_sha256(j.at("sha256").get<std::string>());
  return s;
}

std::string sidecar_path(const stdfs::path& shard) { return shard.string() + ".clips.json"; }

// Everything besides a clip's sources that decides its packed bytes.
std::string params_fingerprint(const data::PackParams& params) {
  std::string s;
  google::protobuf::TextFormat::PrintToString(params, &s);
  return hash::sha256_hex(s + "|shard-format-" + std::to_string(data::shard::kFormatVersion));
}

std::string tool_version() { return std::string("hesp-pack ") + HESP_VERSION; }

// A clip's identity across packs: its id and, for the rare repeated id (rejected as a
// duplicate), which occurrence it is.
std::vector<std::string> clip_keys(const std::vector<ClipSource>& clips) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  keys.reserve(clips.size());
  for (const auto& c : clips) {
    const int n = seen[c.clip_id]++;
    keys.push_back(n == 0 ? c.clip_id : c.clip_id + "#" + std::to_string(n));
  }
  return keys;
}

// One input clip of the earlier pack in the output folder, from its shard's sidecar.
struct EarlierClip {
  std::string sig;     // SourceSignature::hash; "" from sidecars written before signatures.
  std::string stat;    // SourceSignature::stat_hash.
  std::string params;  // params_fingerprint of that pack.
  std::string tool;    // tool_version that packed or rejected it.
  std::string shard;   // Its shard's file name ("" when rejected).
  std::string shard_sha256;
  int64_t row = -1;  // Row in that shard; -1: rejected.
  data::shard::ClipRecord record;
  std::string content_hash;
  Rejection rejection;
};

// Every clip the sidecars in `out` describe, by clip key. Unreadable sidecars are skipped.
std::map<std::string, EarlierClip> read_earlier_pack(const stdfs::path& out) {
  std::map<std::string, EarlierClip> clips;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(out, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("shard-", 0) != 0 || name.size() < 11 ||
        name.compare(name.size() - 11, 11, ".clips.json") != 0) {
      continue;
    }
    try {
      const json j = json::parse(fs::read_file(e.path()));
      EarlierClip base;
      base.params = j.value("params", "");
      base.tool = j.value("tool", "");
      if (j.contains("shard") && j["shard"].is_object()) {
        base.shard = j["shard"].at("file").get<std::string>();
        base.shard_sha256 = j["shard"].at("sha256").get<std::string>();
      }
      std::vector<data::shard::ClipRecord> records;
      for (const auto& r : j.at("records")) records.push_back(record_from(r));
      const json hashes = j.value("hashes", json::array());
      std::vector<Rejection> rejections;
      for (const auto& r : j.at("rejections")) rejections.push_back(rejection_from(r));
      auto packed = [&](EarlierClip c, int64_t row) {
        c.row = row;
        c.record = records.at(static_cast<size_t>(row));
        if (static_cast<size_t>(row) < hashes.size()) {
          c.content_hash = hashes[static_cast<size_t>(row)].get<std::string>();
        }
        return c;
      };
      auto rejected = [&](EarlierClip c, int64_t k) {
        c.shard.clear();
        c.rejection = rejections.at(static_cast<size_t>(k));
        return c;
      };
      if (j.contains("clips")) {
        for (const auto& c : j["clips"]) {
          EarlierClip x = base;
          x.sig = c.at("s").get<std::string>();
          x.stat = c.value("t", "");
          const int64_t row = c.at("r").get<int64_t>();
          clips[c.at("k").get<std::string>()] =
              row >= 0 ? packed(x, row) : rejected(x, c.at("j").get<int64_t>());
        }
      } else {  // A sidecar from before signatures: its clips are known, never reused.
        for (size_t r = 0; r < records.size(); ++r) {
          clips[records[r].clip_id] = packed(base, static_cast<int64_t>(r));
        }
        for (size_t k = 0; k < rejections.size(); ++k) {
          clips.emplace(rejections[k].clip_id, rejected(base, static_cast<int64_t>(k)));
        }
      }
    } catch (const std::exception& x) {
      LOG(WARNING) << "ignoring unreadable " << e.path().string() << ": " << x.what();
    }
  }
  return clips;
}

// What a rank does with each of its clips.
enum class Plan { kNew, kChanged, kReuse };

// This rank's view of the earlier pack: per clip of [begin, end) its signature, key and
// plan, and the earlier shards its reused clips are copied from, opened now: a file
// replaced later in the run (by this or another rank) stays readable through its handle.
struct RankPlan {
  const std::vector<std::string>* keys = nullptr;
  std::vector<SourceSignature> sigs;  // Indexed i - begin.
  std::vector<Plan> plan;             // Indexed i - begin.
  std::map<std::string, EarlierClip> earlier;
  std::map<std::string, bool> shard_ok;  // Earlier shard file -> matches its sha256.
  std::map<std::string, std::unique_ptr<data::ShardReader>> readers;
  std::string params_fp;
  bool params_changed = false;
};

// Hashes the sources of clips [begin, end) on `threads` workers and decides each clip's
// plan against the earlier pack.
RankPlan plan_rank(const ConvertOptions& opts, const std::vector<ClipSource>& clips,
                   const std::vector<std::string>& keys, size_t begin, size_t end, int threads) {
  RankPlan rp;
  rp.keys = &keys;
  rp.params_fp = params_fingerprint(opts.params);
  const stdfs::path out(opts.output);
  rp.earlier = read_earlier_pack(out);
  // Phase 1: source signatures of the clips the earlier pack had, in parallel (a new
  // clip's comes from the packer's own read of its files: pack_rank).
  rp.sigs.resize(end - begin);
  {
    std::atomic<size_t> next{begin};
    auto work = [&] {
      for (size_t i; (i = next++) < end;) {
        const auto e = rp.earlier.find(keys[i]);
        if (e == rp.earlier.end()) continue;
        // Files not written since the earlier run keep their recorded content signature.
        SourceSignature sig = source_stat(clips[i]);
        if (!e->second.sig.empty() && sig.stat_hash == e->second.stat) {
          sig.hash = e->second.sig;
        } else {
          sig = source_signature(clips[i]);
        }
        rp.sigs[i - begin] = std::move(sig);
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  // Phase 2: per clip, reuse when its sources and the parameters are unchanged and the
  // earlier result is still there (a rejection only from this hesp-pack version: a newer
  // one may read what an older one could not).
  rp.plan.assign(end - begin, Plan::kNew);
  for (size_t i = begin; i < end; ++i) {
    const auto it = rp.earlier.find(keys[i]);
    if (it == rp.earlier.end()) continue;
    const EarlierClip& e = it->second;
    Plan p = Plan::kChanged;
    if (e.params != rp.params_fp) {
      rp.params_changed = rp.params_changed || !e.params.empty();
    } else if (!e.sig.empty() && e.sig == rp.sigs[i - begin].hash) {
      if (e.row < 0) {
        p = e.tool == tool_version() ? Plan::kReuse : Plan::kChanged;
      } else {
        auto ok = rp.shard_ok.find(e.shard);
        if (ok == rp.shard_ok.end()) {
          bool good = false;
          try {
            good = hash::sha256_file_hex(out / e.shard) == e.shard_sha256;
            if (good) {
              rp.readers[e.shard] = std::make_unique<data::ShardReader>(out / e.shard);
            }
          } catch (const std::exception& x) {
            LOG(WARNING) << "earlier shard " << (out / e.shard).string() << ": " << x.what();
          }
          if (!good) {
            LOG(WARNING) << (out / e.shard).string()
                         << " does not match its recorded sha256: its clips are packed again";
          }
          ok = rp.shard_ok.emplace(e.shard, good).first;
        }
        if (ok->second) p = Plan::kReuse;
      }
    }
    rp.plan[i - begin] = p;
  }
  return rp;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Decodes clips [begin, end) on `threads` workers and hands results to the caller in
// order. A window bounds the results held in memory.
class OrderedPool {
 public:
  // job(i) packs clip i (on a worker thread; take(i) returns its result).
  OrderedPool(std::function<PackedClip(size_t)> job, size_t begin, size_t end, int threads)
      : job_(std::move(job)),
        next_(begin),
        consumed_(begin),
        end_(end),
        window_(static_cast<size_t>(threads) * 4) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~OrderedPool() { stop(); }

  PackedClip take(size_t i) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return results_.count(i) > 0; });
    PackedClip p = std::move(results_[i]);
    results_.erase(i);
    consumed_ = i + 1;
    cv_.notify_all();
    return p;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) {
      if (w.joinable()) w.join();
    }
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || next_ >= end_ || next_ < consumed_ + window_; });
        if (stopping_ || next_ >= end_) return;
        i = next_++;
      }
      PackedClip p = job_(i);
      {
        std::lock_guard<std::mutex> lock(mu_);
        results_.emplace(i, std::move(p));
      }
      cv_.notify_all();
    }
  }

  std::function<PackedClip(size_t)> job_;
  size_t next_, consumed_, end_, window_;
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, PackedClip> results_;
  std::vector<std::thread> workers_;
};

std::string tail_sidecar_name(int rank, int size) {
  return size == 1 ? "shard-tail.clips.json"
                   : "shard-r" + std::to_string(rank) + "-tail.clips.json";
}

// Reuses this rank's leading shards from an earlier run as they are (no rewrite) while
// each holds exactly the next clips, all unchanged (plan kReuse, same records), and
// still hashes to its recorded sha256; returns the first clip index still to write and
// removes every later (or partial) shard file of this rank.
size_t resume(const stdfs::path& out, int rank, int size, const std::vector<ClipSource>& clips,
              size_t begin, size_t end, const RankPlan& rp, RankResult* result, int* next_k) {
  size_t cursor = begin;
  int k = 0;
  for (;; ++k) {
    const stdfs::path shard = out / shard_file_name(rank, size, k);
    const std::string side = sidecar_path(shard);
    if (!stdfs::exists(shard) || !stdfs::exists(side)) break;
    json j;
    try {
      j = json::parse(fs::read_file(side));
    } catch (const std::exception& e) {
      LOG(WARNING) << "ignoring unreadable " << side << ": " << e.what();
      break;
    }
    if (j.value("params", "") != rp.params_fp || !j.contains("clips")) break;
    const json& entries = j["clips"];
    if (cursor + entries.size() > end) break;
    std::vector<data::shard::ClipRecord> records;
    for (const auto& r : j.at("records")) records.push_back(record_from(r));
    bool same = true;
    for (size_t x = 0; same && x < entries.size(); ++x) {
      const size_t i = cursor + x;
      const auto& c = clips[i];
      const auto& e = entries[x];
      same = e.at("k") == (*rp.keys)[i] && rp.plan[i - begin] == Plan::kReuse &&
             e.at("s") == rp.sigs[i - begin].hash;
      const int64_t row = e.at("r").get<int64_t>();
      if (same && row >= 0) {
        const auto& r = records.at(static_cast<size_t>(row));
        same = r.label == c.label && r.compound_label == c.compound_label && r.split == c.split;
      }
    }
    if (!same) break;
    const data::ShardInfo info = shard_from(j.at("shard"));
    const auto ok = rp.shard_ok.find(info.file());
    if (ok == rp.shard_ok.end() ? hash::sha256_file_hex(shard) != info.sha256() : !ok->second) {
      LOG(WARNING) << shard.string() << " does not match its recorded sha256: packing it again";
      break;
    }
    result->shards.push_back(info);
    result->records.insert(result->records.end(), records.begin(), records.end());
    for (const auto& h : j.value("hashes", json::array())) result->hashes.push_back(h);
    result->hashes.resize(result->records.size());
    for (const auto& r : j.at("rejections")) result->rejections.push_back(rejection_from(r));
    result->reused_clips += static_cast<int64_t>(entries.size());
    cursor += entries.size();
    ++result->reused_shards;
  }
  *next_k = k;
  // Anything of this rank from shard k on belongs to the unfinished part: remove it.
  const std::string prefix = size == 1 ? "shard-" : "shard-r" + std::to_string(rank) + "-";
  for (const auto& e : stdfs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    if (size == 1 && name.rfind("shard-r", 0) == 0) continue;
    bool keep = false;
    for (int i = 0; i < k; ++i) {
      const std::string s = shard_file_name(rank, size, i);
      keep = keep || name == s || name == s + ".clips.json";
    }
    if (!keep) stdfs::remove(e.path());
  }
  return cursor;
}

// This rank's shards, written in clip order: the open shard with its sidecar's entries,
// and what each closed shard adds to the rank's result.
class ShardSink {
 public:
  // Shards are numbered from `k` (after the ones resume() reused); the first starts at
  // clip `start`.
  ShardSink(const ConvertOptions& opts, const RankPlan& rp, size_t begin, size_t start, int rank,
            int size, int k, RankResult* result)
      : opts_(opts),
        rp_(rp),
        out_(opts.output),
        begin_(begin),
        rank_(rank),
        size_(size),
        limit_(static_cast<uint64_t>(std::max(1, opts.params.shard_size_mb())) << 20),
        result_(result),
        k_(k),
        shard_first_(start) {}

  // Adds packed clip i (frames either freshly encoded or copied) to the open shard, after
  // closing it when the clip would take it over the size bound.
  void add(size_t i, const data::shard::ClipRecord& rec, uint64_t payload,
           const std::vector<std::string>& jpeg, const std::vector<uint8_t>& raw, int stored,
           const std::string& content_hash) {
    if (writer_ && writer_->num_clips() > 0 && writer_->payload_bytes() + payload > limit_) {
      close_shard(i);
    }
    if (!writer_) writer_.emplace(out_ / shard_file_name(rank_, size_, k_), opts_.params);
    const int64_t row = writer_->num_clips();
    if (opts_.params.encoding() == data::PackParams::jpeg) {
      writer_->add_jpeg_clip(rec, jpeg);
    } else {
      writer_->add_raw_clip(rec, raw.data(), stored);
    }
    shard_hashes_.push_back(content_hash);
    shard_clips_.push_back({{"k", (*rp_.keys)[i]},
                            {"s", rp_.sigs[i - begin_].hash},
                            {"t", rp_.sigs[i - begin_].stat_hash},
                            {"r", row}});
  }

  // Records clip i's rejection in the open shard's range.
  void reject(size_t i, const Rejection& r) {
    shard_clips_.push_back({{"k", (*rp_.keys)[i]},
                            {"s", rp_.sigs[i - begin_].hash},
                            {"t", rp_.sigs[i - begin_].stat_hash},
                            {"r", -1},
                            {"j", shard_rejections_.size()}});
    shard_rejections_.push_back(r);
  }

  // Finishes the open shard (if any) as covering clips up to `shard_end`: its sidecar, and
  // its shard, records, hashes and rejections into the result.
  void close_shard(size_t shard_end) {
    if (!writer_) return;
    data::ShardInfo info = writer_->finish();
    json j = sidecar(shard_end);
    j["shard"] = shard_json(info);
    j["records"] = json::array();
    for (const auto& r : writer_->records()) j["records"].push_back(record_json(r));
    j["hashes"] = shard_hashes_;
    fs::atomic_write_file(sidecar_path(writer_->final_path()), dump(j));
    result_->shards.push_back(info);
    result_->records.insert(result_->records.end(), writer_->records().begin(),
                            writer_->records().end());
    result_->hashes.insert(result_->hashes.end(), shard_hashes_.begin(), shard_hashes_.end());
    shard_hashes_.clear();
    result_->rejections.insert(result_->rejections.end(), shard_rejections_.begin(),
                               shard_rejections_.end());
    shard_rejections_.clear();
    shard_clips_ = json::array();
    writer_.reset();
    shard_first_ = shard_end;
    ++k_;
    // Tests of a stop signal mid-conversion hold the rank here (util/failpoint.h).
    util::failpoint("pack.shard_written", util::stop_requested);
  }

  // After the rank's last clip `end`: closes the shard. Rejections after the last shard
  // (or with no shard at all) still count, and are recorded for the next run in this
  // rank's tail sidecar.
  void finish(size_t end) {
    close_shard(end);
    if (!shard_rejections_.empty()) {
      json j = sidecar(end);
      j["shard"] = nullptr;
      j["records"] = json::array();
      fs::atomic_write_file(out_ / tail_sidecar_name(rank_, size_), dump(j));
    }
    result_->rejections.insert(result_->rejections.end(), shard_rejections_.begin(),
                               shard_rejections_.end());
  }

 private:
  json sidecar(size_t shard_end) const {
    json j = {{"params", rp_.params_fp},
              {"tool", tool_version()},
              {"first", shard_first_},
              {"end", shard_end},
              {"clips", shard_clips_}};
    j["rejections"] = json::array();
    for (const auto& r : shard_rejections_) j["rejections"].push_back(rejection_json(r));
    return j;
  }

  const ConvertOptions& opts_;
  const RankPlan& rp_;
  const stdfs::path out_;
  const size_t begin_;
  const int rank_, size_;
  const uint64_t limit_;  // shard_size_mb in bytes.
  RankResult* result_;
  int k_;  // The open (or next) shard's number.
  std::optional<data::ShardWriter> writer_;
  size_t shard_first_;
  std::vector<Rejection> shard_rejections_;
  std::vector<std::string> shard_hashes_;
  json shard_clips_ = json::array();  // Every input clip of the shard's range, in order.
};

// Clip i with unchanged sources: its earlier result, without decoding (its stored frames
// copied from the earlier shard, or its earlier rejection).
void add_earlier_clip(size_t i, const ClipSource& c, const ConvertOptions& opts, const RankPlan& rp,
                      ShardSink* sink) {
  const EarlierClip& e = rp.earlier.at((*rp.keys)[i]);
  if (e.row < 0) {
    sink->reject(i, e.rejection);
    return;
  }
  const data::ShardReader& reader = *rp.readers.at(e.shard);
  const data::shard::ClipRecord rec{
      c.clip_id, c.label, c.compound_label, c.split, e.record.source_num_frames, 0};
  std::vector<std::string> jpeg;
  std::vector<uint8_t> raw;
  uint64_t payload = 0;
  if (opts.params.encoding() == data::PackParams::jpeg) {
    jpeg = reader.read_jpeg_frames(e.row);
    for (const auto& f : jpeg) payload += f.size();
  } else {
    raw = reader.read_rgb_frames(e.row);
    payload = raw.size();
  }
  sink->add(i, rec, payload, jpeg, raw, reader.stored_frames(e.row), e.content_hash);
}

// Clip i packed now (new or changed sources), or its rejection. Returns false when
// --strict ends the packing (result->strict_error says why).
bool add_packed_clip(size_t i, const ClipSource& c, const PackedClip& p, const ConvertOptions& opts,
                     ShardSink* sink, RankResult* result) {
  if (!p.reject_reason.empty()) {
    sink->reject(i, {c.clip_id, printable(c.path), p.reject_reason, printable(p.reject_detail)});
    if (opts.strict) {
      result->strict_error = "clip " + c.clip_id + " (" + printable(c.path) +
                             ") rejected: " + p.reject_reason + ": " + printable(p.reject_detail);
      return false;
    }
    return true;
  }
  const data::shard::ClipRecord rec{c.clip_id,           c.label,        c.compound_label, c.split,
                                    p.source_num_frames, p.stored_frames};
  sink->add(i, rec, p.payload_bytes(), p.jpeg_frames, p.raw_frames, p.stored_frames,
            p.content_hash);
  return true;
}

// The re-pack rule's count of clip c packed now: re-packed (its sources changed) or new.
void count_packed_clip(const ClipSource& c, Plan plan, RankResult* result) {
  if (plan == Plan::kChanged) {
    ++result->repacked_clips;
    if (result->repacked_ids.size() < 10) result->repacked_ids.push_back(c.clip_id);
  } else {
    ++result->new_clips;
  }
}

// Packs clips [begin, end) of this rank into shards; fills `result`. Clips the plan
// reuses are copied from the earlier shards (stored frames as they are, records from this
// import) or keep their earlier rejection; the rest are decoded and packed.
void pack_rank(const ConvertOptions& opts, const std::vector<ClipSource>& clips, size_t begin,
               size_t end, int rank, int size, int threads, RankPlan& rp, RankResult* result) {
  int k = 0;
  const size_t start =
      resume(stdfs::path(opts.output), rank, size, clips, begin, end, rp, result, &k);
  if (result->reused_shards > 0) {
    LOG(INFO) << "rank " << rank << ": reusing " << result->reused_shards
              << " complete shard(s) from an earlier run; " << (end - start) << " clip(s) left";
  }
  auto reuse = [&](size_t i) { return rp.plan[i - begin] == Plan::kReuse; };
  // Workers pack what is not reused; a new clip's signature is completed from the content
  // hash the packer computed while reading its files (no second read). Each worker writes
  // only its own rp.sigs[i]; take(i) orders that before the writer reads it.
  OrderedPool pool(
      [&](size_t i) {
        if (reuse(i)) return PackedClip();
        PackedClip p = pack_clip(clips[i], opts.params);
        SourceSignature& sig = rp.sigs[i - begin];
        if (rp.plan[i - begin] == Plan::kNew) {
          sig = p.content_hash.empty() ? source_signature(clips[i])
                                       : source_signature(clips[i], p.content_hash);
        }
        return p;
      },
      start, end, threads);
  Progress progress("rank " + std::to_string(rank) + " packing", static_cast<int64_t>(end - start));
  ShardSink sink(opts, rp, begin, start, rank, size, k, result);
  // A stop signal (util/stop_signal.h) ends the loop after the clip in hand; the clips
  // packed so far become a complete shard that a rerun reuses.
  size_t packed_end = start;
  for (size_t i = start; i < end; ++i) {
    if (util::stop_requested()) {
      result->stopped = true;
      break;
    }
    PackedClip p = pool.take(i);
    if (reuse(i)) {
      add_earlier_clip(i, clips[i], opts, rp, &sink);
      ++result->reused_clips;
    } else {
      count_packed_clip(clips[i], rp.plan[i - begin], result);
      if (!add_packed_clip(i, clips[i], p, opts, &sink, result)) break;
    }
    progress.update(static_cast<int64_t>(i - start + 1));
    packed_end = i + 1;
  }
  pool.stop();
  if (!result->strict_error.empty()) return;  // The partial shard is removed by ~ShardWriter.
  if (result->stopped) {
    sink.close_shard(packed_end);
    LOG(WARNING) << "rank " << rank << ": stop signal: " << (packed_end - start) << " of "
                 << (end - start) << " clip(s) packed, in complete shards";
    return;
  }
  sink.finish(end);
  if (start < end) progress.finish();
}

std::string serialize(const RankResult& r) {
  json j;
  j["shards"] = json::array();
  for (const auto& s : r.shards) j["shards"].push_back(shard_json(s));
  j["records"] = json::array();
  for (const auto& c : r.records) j["records"].push_back(record_json(c));
  j["hashes"] = r.hashes;
  j["rejections"] = json::array();
  for (const auto& x : r.rejections) j["rejections"].push_back(rejection_json(x));
  j["strict_error"] = r.strict_error;
  j["reused"] = r.reused_shards;
  j["sources"] = {r.reused_clips, r.repacked_clips, r.new_clips};
  j["repacked_ids"] = r.repacked_ids;
  return dump(j);
}

RankResult deserialize(const std::string& s) {
  const json j = json::parse(s);
  RankResult r;
  for (const auto& x : j["shards"]) r.shards.push_back(shard_from(x));
  for (const auto& x : j["records"]) r.records.push_back(record_from(x));
  for (const auto& x : j["hashes"]) r.hashes.push_back(x);
  for (const auto& x : j["rejections"]) r.rejections.push_back(rejection_from(x));
  r.strict_error = j["strict_error"];
  r.reused_shards = j["reused"];
  r.reused_clips = j["sources"][0];
  r.repacked_clips = j["sources"][1];
  r.new_clips = j["sources"][2];
  for (const auto& x : j["repacked_ids"]) r.repacked_ids.push_back(x);
  return r;
}

std::string tsv_field(std::string s) {
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// Byte-identical clips under different ids, from the content hashes of the packed clips
// (gathered, in global clip order: the first holder of a hash is the reference).
std::vector<IntegrityIssue> content_duplicates(const ImportResult& imported,
                                               const std::vector<RankResult>& parts) {
  std::vector<IntegrityIssue> out;
  std::map<std::string, const data::shard::ClipRecord*> first;
  auto label_name = [&](int label) {
    return label >= 0 && label < static_cast<int>(imported.class_names.size())
               ? imported.class_names[static_cast<size_t>(label)]
               : std::string("-1");
  };
  for (const auto& p : parts) {
    for (size_t i = 0; i < p.records.size() && i < p.hashes.size(); ++i) {
      if (p.hashes[i].empty()) continue;
      const auto& r = p.records[i];
      const auto [it, inserted] = first.emplace(p.hashes[i], &r);
      if (inserted) continue;
      const auto& a = *it->second;
      std::string detail = "identical source bytes (sha256 " + p.hashes[i].substr(0, 16) + "...)";
      detail += a.split == r.split ? "; both in split " + r.split
                                   : "; splits " + a.split + " and " + r.split + " (leakage)";
      if (a.label != r.label) {
        detail += "; labels " + label_name(a.label) + " and " + label_name(r.label);
      }
      out.push_back({integrity::kDuplicateContent, r.clip_id, a.clip_id, detail});
    }
  }
  return out;
}

std::string count_of(const std::vector<IntegrityIssue>& issues, const char* kind) {
  int64_t n = 0;
  for (const auto& i : issues) n += i.kind == kind;
  return std::to_string(n);
}

data::Manifest build_manifest(const ConvertOptions& opts, const ImportResult& imported,
                              const std::vector<RankResult>& parts) {
  data::Manifest m;
  m.set_tool_version(std::string("hesp-pack ") + HESP_VERSION);
  m.set_created_utc(utc_now());
  m.set_source_root(stdfs::absolute(opts.import.root).lexically_normal().string());
  m.set_source_format(opts.format);
  *m.mutable_params() = opts.params;
  for (const auto& n : imported.class_names) m.add_class_names(n);
  std::set<std::string> splits;
  std::map<std::pair<int, std::string>, int64_t> counts;
  int64_t clips = 0, rejected = 0;
  for (const auto& p : parts) {
    for (const auto& s : p.shards) *m.add_shards() = s;
    for (const auto& r : p.records) {
      splits.insert(r.split);
      ++counts[{r.label, r.split}];
      ++clips;
    }
    rejected += static_cast<int64_t>(p.rejections.size());
  }
  for (const auto& s : splits) m.add_splits(s);
  for (int c = 0; c < static_cast<int>(imported.class_names.size()); ++c) {
    for (const auto& s : splits) {
      auto* e = m.add_counts();
      e->set_class_name(imported.class_names[c]);
      e->set_split(s);
      auto it = counts.find({c, s});
      e->set_count(it == counts.end() ? 0 : it->second);
    }
  }
  m.set_num_clips(clips);
  m.set_num_rejected(rejected);
  m.set_num_input_clips(clips + rejected);
  return m;
}

// Rank 0 makes the output folder and removes its manifest: a manifest must never describe
// a dataset that is being rewritten.
void prepare_output(comm::Communicator& world, const stdfs::path& out) {
  if (world.rank() == 0) {
    fs::ensure_writable_directory(out);
    stdfs::remove(out / data::shard::kManifestFile);
  }
  world.barrier();
}

// The importer's clips (the same on every rank); with --strict, none of its integrity
// findings.
ImportResult import_clips(const ConvertOptions& opts, const comm::Communicator& world,
                          int threads) {
  ImportResult imported = import_dataset(opts.format, opts.import);
  if (opts.strict && !imported.issues.empty()) {
    const auto& i = imported.issues.front();
    throw UserError("--strict: " + std::to_string(imported.issues.size()) +
                    " integrity finding(s) in the annotations, first: " + i.kind + " " + i.clip_id +
                    " vs " + i.other_clip_id + ": " + i.detail);
  }
  if (world.rank() == 0) {
    LOG(INFO) << "importer " << opts.format << ": " << imported.clips.size() << " clip(s), "
              << imported.class_names.size() << " classes, packing on " << world.size()
              << " rank(s) x " << threads << " thread(s)";
  }
  return imported;
}

// Whether any rank stopped (a signal) before every clip was packed: then no manifest for
// a dataset that is not all packed; a rerun of the same command reuses what is complete.
bool stopped_on_any_rank(comm::Communicator& world, const RankResult& mine) {
  if (!comm::any_rank(world, mine.stopped || util::stop_requested())) return false;
  if (world.rank() == 0) {
    std::cerr << "hesp-pack convert: stopped by a signal before every clip was packed; "
                 "rerun the same command to continue (complete shards are reused); exit "
              << kExitPreempted << std::endl;
  }
  return true;
}

// Clips of the earlier pack that are not in this input (same on every rank).
std::vector<std::string> removed_clips(const RankPlan& plan, const std::vector<std::string>& keys) {
  std::vector<std::string> removed;
  const std::set<std::string> now(keys.begin(), keys.end());
  for (const auto& [key, e] : plan.earlier) {
    if (!now.count(key)) removed.push_back(key);
  }
  return removed;
}

// Every rank's part, on every rank: each broadcasts its own in turn (rank order = global
// clip order). Throws a rank's --strict error.
std::vector<RankResult> gather_parts(comm::Communicator& world, const RankResult& mine) {
  const int rank = world.rank(), size = world.size();
  std::vector<RankResult> parts(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    std::string bytes = r == rank ? serialize(mine) : std::string();
    world.broadcast_bytes(bytes, r);
    parts[r] = r == rank ? mine : deserialize(bytes);
  }
  for (const auto& p : parts) {
    if (!p.strict_error.empty()) throw UserError("--strict: " + p.strict_error);
  }
  return parts;
}

// Integrity: findings of the importer plus byte-identical clips among the packed ones;
// with --strict, none.
std::vector<IntegrityIssue> integrity_issues(const ConvertOptions& opts,
                                             const ImportResult& imported,
                                             const std::vector<RankResult>& parts) {
  std::vector<IntegrityIssue> issues = imported.issues;
  const auto duplicates = content_duplicates(imported, parts);
  issues.insert(issues.end(), duplicates.begin(), duplicates.end());
  if (opts.strict && !issues.empty()) {
    throw UserError("--strict: " + std::to_string(issues.size()) +
                    " integrity finding(s), first: " + issues.front().kind + " " +
                    issues.front().clip_id + " vs " + issues.front().other_clip_id + ": " +
                    issues.front().detail);
  }
  return issues;
}

// rejected.tsv and integrity.tsv (rank 0).
void write_rejections_and_integrity(const stdfs::path& out, const std::vector<RankResult>& parts,
                                    const std::vector<IntegrityIssue>& issues) {
  std::string tsv;
  for (const auto& p : parts) {
    for (const auto& r : p.rejections) {
      tsv += tsv_field(r.clip_id) + "\t" + tsv_field(r.path) + "\t" + r.reason + "\t" +
             tsv_field(r.detail) + "\n";
    }
  }
  fs::atomic_write_file(out / data::shard::kRejectedFile, tsv);
  std::string report;
  for (const auto& i : issues) {
    report += i.kind + "\t" + tsv_field(printable(i.clip_id)) + "\t" +
              tsv_field(printable(i.other_clip_id)) + "\t" + tsv_field(printable(i.detail)) + "\n";
  }
  fs::atomic_write_file(out / data::shard::kIntegrityFile, report);
}

// The re-pack rule's account (docs/datasets.md, "Packing again after the sources change"):
// reused, re-packed, new and removed clips (rank 0).
void print_source_account(const std::vector<RankResult>& parts,
                          const std::vector<std::string>& removed) {
  int64_t reused_clips = 0, repacked = 0, fresh = 0;
  std::vector<std::string> repacked_ids;
  for (const auto& p : parts) {
    reused_clips += p.reused_clips;
    repacked += p.repacked_clips;
    fresh += p.new_clips;
    for (const auto& id : p.repacked_ids) {
      if (repacked_ids.size() < 10) repacked_ids.push_back(id);
    }
  }
  std::printf("sources: reused %lld, re-packed %lld (sources changed), new %lld, removed %zu\n",
              static_cast<long long>(reused_clips), static_cast<long long>(repacked),
              static_cast<long long>(fresh), removed.size());
  auto some = [](const std::vector<std::string>& ids, int64_t total) {
    std::string s;
    for (const auto& id : ids) s += (s.empty() ? "" : ", ") + printable(id);
    if (total > static_cast<int64_t>(ids.size())) s += ", ...";
    return s;
  };
  if (repacked > 0) std::printf("  re-packed: %s\n", some(repacked_ids, repacked).c_str());
  if (!removed.empty()) {
    const std::vector<std::string> first(removed.begin(),
                                         removed.begin() + std::min<size_t>(removed.size(), 10));
    std::printf("  removed: %s\n", some(first, static_cast<int64_t>(removed.size())).c_str());
  }
}

// A pack with clips (rank 0): removes shard files not in the manifest (an earlier run
// with other ranks), writes the manifest and prints the summary.
void publish_manifest(const stdfs::path& out, const data::Manifest& m, int size,
                      const std::vector<RankResult>& parts,
                      const std::vector<IntegrityIssue>& issues) {
  std::set<std::string> live;
  for (const auto& s : m.shards()) {
    live.insert(s.file());
    live.insert(s.file() + ".clips.json");
  }
  for (int r = 0; r < size; ++r) live.insert(tail_sidecar_name(r, size));
  for (const auto& e : stdfs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("shard-", 0) == 0 && !live.count(name)) stdfs::remove(e.path());
  }
  data::write_manifest(out, m);
  int reused = 0;
  for (const auto& p : parts) reused += p.reused_shards;
  std::printf("packed %lld clip(s) into %d shard(s) (%d reused) in %s\n",
              static_cast<long long>(m.num_clips()), m.shards_size(), reused, out.c_str());
  if (m.num_rejected() > 0) {
    std::printf("rejected %lld clip(s): see %s\n", static_cast<long long>(m.num_rejected()),
                (out / data::shard::kRejectedFile).c_str());
  }
  std::printf("integrity: %s label conflict(s), %s leakage, %s duplicate content: see %s\n",
              count_of(issues, integrity::kLabelConflict).c_str(),
              count_of(issues, integrity::kLeakage).c_str(),
              count_of(issues, integrity::kDuplicateContent).c_str(),
              (out / data::shard::kIntegrityFile).c_str());
  std::printf("input %lld = packed %lld + rejected %lld\n",
              static_cast<long long>(m.num_input_clips()), static_cast<long long>(m.num_clips()),
              static_cast<long long>(m.num_rejected()));
  std::fflush(stdout);
}

// The error of a pack with nothing in it (no manifest, non-zero exit, one line why).
UserError nothing_packed(const ConvertOptions& opts, const data::Manifest& m,
                         const std::vector<RankResult>& parts, const stdfs::path& out) {
  if (m.num_input_clips() == 0) {
    return UserError("nothing to pack: the " + opts.format + " importer found no clip under " +
                     opts.import.root);
  }
  std::map<std::string, int64_t> reasons;
  for (const auto& p : parts) {
    for (const auto& r : p.rejections) ++reasons[r.reason];
  }
  std::string why;
  for (const auto& [r, n] : reasons) {
    why += (why.empty() ? "" : ", ") + std::to_string(n) + " " + r;
  }
  return UserError("nothing packed: all " + std::to_string(m.num_input_clips()) +
                   " input clip(s) were rejected (" + why + "): see " +
                   (out / data::shard::kRejectedFile).string());
}

}  // namespace

std::string shard_file_name(int rank, int size, int k) {
  char buf[64];
  if (size == 1) {
    std::snprintf(buf, sizeof(buf), "shard-%05d.h5", k);
  } else {
    std::snprintf(buf, sizeof(buf), "shard-r%d-%05d.h5", rank, k);
  }
  return buf;
}

int run_convert(const ConvertOptions& opts) {
  auto comm = comm::world();
  util::catch_stop_signals();  // Again after MPI's start-up (idempotent).
  const int rank = comm->rank(), size = comm->size();
  const int threads = threads::threads_per_rank(opts.threads, comm->local_size());
  cv::setNumThreads(1);  // Parallelism comes from our pool; OpenCV's own would oversubscribe.
  const stdfs::path out(opts.output);
  prepare_output(*comm, out);
  const ImportResult imported = import_clips(opts, *comm, threads);
  const size_t n = imported.clips.size();
  const size_t begin = n * rank / size, end = n * (rank + 1) / size;
  // Hash the sources and open the earlier shards to copy from on every rank before any
  // rank removes or replaces a file of the earlier pack.
  const std::vector<std::string> keys = clip_keys(imported.clips);
  RankPlan plan = plan_rank(opts, imported.clips, keys, begin, end, threads);
  if (plan.params_changed && rank == 0) {
    LOG(WARNING) << "the earlier pack in " << out.string()
                 << " used other pack parameters: every clip is packed again";
  }
  comm->barrier();
  RankResult mine;
  pack_rank(opts, imported.clips, begin, end, rank, size, threads, plan, &mine);
  plan.readers.clear();
  if (stopped_on_any_rank(*comm, mine)) return kExitPreempted;
  const std::vector<std::string> removed = removed_clips(plan, keys);
  const std::vector<RankResult> parts = gather_parts(*comm, mine);
  const std::vector<IntegrityIssue> issues = integrity_issues(opts, imported, parts);
  const data::Manifest m = build_manifest(opts, imported, parts);
  if (rank == 0) {
    write_rejections_and_integrity(out, parts, issues);
    print_source_account(parts, removed);
    if (m.num_clips() > 0) {
      publish_manifest(out, m, size, parts, issues);
    } else {
      std::printf("input %lld = packed 0 + rejected %lld\n",
                  static_cast<long long>(m.num_input_clips()),
                  static_cast<long long>(m.num_rejected()));
      std::fflush(stdout);
    }
  }
  if (m.num_clips() == 0) throw nothing_packed(opts, m, parts, out);
  comm->barrier();
  return 0;
}

}  // namespace hesp::pack
