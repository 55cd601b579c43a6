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
#include "comm/root_decision.h"
#include "data/format/manifest_io.h"
#include "data/format/shard_format.h"
#include "data/format/shard_writer.h"
#include "frame_source.h"
#include "importers.h"
#include "progress.h"
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

// Everything that decides the bytes of this rank's shards: a sidecar is reused only when
// the rerun would write exactly the same shard.
std::string fingerprint(const ConvertOptions& opts, const std::vector<ClipSource>& clips,
                        size_t begin, size_t end, int rank, int size) {
  std::string s;
  google::protobuf::TextFormat::PrintToString(opts.params, &s);
  s += "|shard-format-" + std::to_string(data::shard::kFormatVersion) + "|" + opts.format + "|" +
       std::to_string(rank) + "/" + std::to_string(size);
  for (size_t i = begin; i < end; ++i) {
    const auto& c = clips[i];
    s += "\n" + c.clip_id + "\t" + c.path + "\t" + std::to_string(c.label) + "\t" +
         c.compound_label + "\t" + c.split + "\t" + std::to_string(c.expected_frames) + "\t" +
         c.reject_reason;
  }
  return hash::sha256_hex(s);
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
  OrderedPool(const std::vector<ClipSource>& clips, const data::PackParams& params, size_t begin,
              size_t end, int threads)
      : clips_(clips),
        params_(params),
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
      PackedClip p = pack_clip(clips_[i], params_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        results_.emplace(i, std::move(p));
      }
      cv_.notify_all();
    }
  }

  const std::vector<ClipSource>& clips_;
  const data::PackParams& params_;
  size_t next_, consumed_, end_, window_;
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, PackedClip> results_;
  std::vector<std::thread> workers_;
};

// Reuses this rank's complete shards from an earlier run; returns the first clip index
// still to pack and removes every later (or partial) shard file of this rank.
size_t resume(const stdfs::path& out, int rank, int size, const std::string& fp, size_t begin,
              RankResult* result, int* next_k) {
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
    if (j.value("fingerprint", "") != fp ||
        j.value("first", -1LL) != static_cast<long long>(cursor)) {
      break;
    }
    const data::ShardInfo info = shard_from(j.at("shard"));
    if (hash::sha256_file_hex(shard) != info.sha256()) {
      LOG(WARNING) << shard.string() << " does not match its recorded sha256: packing it again";
      break;
    }
    result->shards.push_back(info);
    for (const auto& r : j.at("records")) result->records.push_back(record_from(r));
    for (const auto& h : j.value("hashes", json::array())) result->hashes.push_back(h);
    result->hashes.resize(result->records.size());
    for (const auto& r : j.at("rejections")) result->rejections.push_back(rejection_from(r));
    cursor = j.at("end").get<size_t>();
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

// Packs clips [begin, end) of this rank into shards; fills `result`.
void pack_rank(const ConvertOptions& opts, const std::vector<ClipSource>& clips, size_t begin,
               size_t end, int rank, int size, int threads, RankResult* result) {
  const stdfs::path out(opts.output);
  const std::string fp = fingerprint(opts, clips, begin, end, rank, size);
  int k = 0;
  const size_t start = resume(out, rank, size, fp, begin, result, &k);
  if (result->reused_shards > 0) {
    LOG(INFO) << "rank " << rank << ": reusing " << result->reused_shards
              << " complete shard(s) from an earlier run; " << (end - start) << " clip(s) left";
  }
  if (start >= end) return;
  const uint64_t limit = static_cast<uint64_t>(std::max(1, opts.params.shard_size_mb())) << 20;
  OrderedPool pool(clips, opts.params, start, end, threads);
  Progress progress("rank " + std::to_string(rank) + " packing", static_cast<int64_t>(end - start));

  std::optional<data::ShardWriter> writer;
  size_t shard_first = start;
  std::vector<Rejection> shard_rejections;
  std::vector<std::string> shard_hashes;
  auto close_shard = [&](size_t shard_end) {
    if (!writer) return;
    data::ShardInfo info = writer->finish();
    json j = {{"fingerprint", fp},
              {"first", shard_first},
              {"end", shard_end},
              {"shard", shard_json(info)}};
    j["records"] = json::array();
    for (const auto& r : writer->records()) j["records"].push_back(record_json(r));
    j["rejections"] = json::array();
    for (const auto& r : shard_rejections) j["rejections"].push_back(rejection_json(r));
    j["hashes"] = shard_hashes;
    fs::atomic_write_file(sidecar_path(writer->final_path()), dump(j));
    result->shards.push_back(info);
    result->records.insert(result->records.end(), writer->records().begin(),
                           writer->records().end());
    result->hashes.insert(result->hashes.end(), shard_hashes.begin(), shard_hashes.end());
    shard_hashes.clear();
    result->rejections.insert(result->rejections.end(), shard_rejections.begin(),
                              shard_rejections.end());
    shard_rejections.clear();
    writer.reset();
    shard_first = shard_end;
    ++k;
    // Tests of a stop signal mid-conversion hold the rank here (util/failpoint.h).
    util::failpoint("pack.shard_written", util::stop_requested);
  };

  // A stop signal (util/stop_signal.h) ends the loop after the clip in hand; the clips
  // packed so far become a complete shard that a rerun reuses (resume above).
  size_t packed_end = start;
  for (size_t i = start; i < end; ++i) {
    if (util::stop_requested()) {
      result->stopped = true;
      break;
    }
    PackedClip p = pool.take(i);
    const ClipSource& c = clips[i];
    if (!p.reject_reason.empty()) {
      shard_rejections.push_back(
          {c.clip_id, printable(c.path), p.reject_reason, printable(p.reject_detail)});
      if (opts.strict) {
        result->strict_error = "clip " + c.clip_id + " (" + printable(c.path) +
                               ") rejected: " + p.reject_reason + ": " + printable(p.reject_detail);
        break;
      }
    } else {
      if (writer && writer->num_clips() > 0 &&
          writer->payload_bytes() + p.payload_bytes() > limit) {
        close_shard(i);
      }
      if (!writer) writer.emplace(out / shard_file_name(rank, size, k), opts.params);
      const data::shard::ClipRecord rec{
          c.clip_id, c.label, c.compound_label, c.split, p.source_num_frames, p.stored_frames};
      if (opts.params.encoding() == data::PackParams::jpeg) {
        writer->add_jpeg_clip(rec, p.jpeg_frames);
      } else {
        writer->add_raw_clip(rec, p.raw_frames.data(), p.stored_frames);
      }
      shard_hashes.push_back(p.content_hash);
    }
    progress.update(static_cast<int64_t>(i - start + 1));
    packed_end = i + 1;
  }
  pool.stop();
  if (!result->strict_error.empty()) return;  // The partial shard is removed by ~ShardWriter.
  if (result->stopped) {
    close_shard(packed_end);
    LOG(WARNING) << "rank " << rank << ": stop signal: " << (packed_end - start) << " of "
                 << (end - start) << " clip(s) packed, in complete shards";
    return;
  }
  close_shard(end);
  // Rejections after the last shard (or with no shard at all) still count.
  result->rejections.insert(result->rejections.end(), shard_rejections.begin(),
                            shard_rejections.end());
  progress.finish();
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
  if (rank == 0) {
    fs::ensure_writable_directory(out);
    // A manifest must never describe a dataset that is being rewritten.
    stdfs::remove(out / data::shard::kManifestFile);
  }
  comm->barrier();

  const ImportResult imported = import_dataset(opts.format, opts.import);
  const size_t n = imported.clips.size();
  if (opts.strict && !imported.issues.empty()) {
    const auto& i = imported.issues.front();
    throw UserError("--strict: " + std::to_string(imported.issues.size()) +
                    " integrity finding(s) in the annotations, first: " + i.kind + " " + i.clip_id +
                    " vs " + i.other_clip_id + ": " + i.detail);
  }
  if (rank == 0) {
    LOG(INFO) << "importer " << opts.format << ": " << n << " clip(s), "
              << imported.class_names.size() << " classes, packing on " << size << " rank(s) x "
              << threads << " thread(s)";
  }
  const size_t begin = n * rank / size, end = n * (rank + 1) / size;
  RankResult mine;
  pack_rank(opts, imported.clips, begin, end, rank, size, threads, &mine);
  // Every rank agrees on a stop: no manifest for a dataset that is not all packed; a rerun
  // of the same command reuses the complete shards.
  if (comm::any_rank(*comm, mine.stopped || util::stop_requested())) {
    if (rank == 0) {
      std::cerr << "hesp-pack convert: stopped by a signal before every clip was packed; "
                   "rerun the same command to continue (complete shards are reused); exit "
                << kExitPreempted << std::endl;
    }
    return kExitPreempted;
  }

  // Gather: every rank broadcasts its part in turn (rank order = global clip order).
  std::vector<RankResult> parts(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    std::string bytes = r == rank ? serialize(mine) : std::string();
    comm->broadcast_bytes(bytes, r);
    parts[r] = r == rank ? mine : deserialize(bytes);
  }
  for (const auto& p : parts) {
    if (!p.strict_error.empty()) throw UserError("--strict: " + p.strict_error);
  }
  // Integrity: findings of the importer plus byte-identical clips among the packed ones.
  std::vector<IntegrityIssue> issues = imported.issues;
  const auto duplicates = content_duplicates(imported, parts);
  issues.insert(issues.end(), duplicates.begin(), duplicates.end());
  if (opts.strict && !issues.empty()) {
    throw UserError("--strict: " + std::to_string(issues.size()) +
                    " integrity finding(s), first: " + issues.front().kind + " " +
                    issues.front().clip_id + " vs " + issues.front().other_clip_id + ": " +
                    issues.front().detail);
  }
  const data::Manifest m = build_manifest(opts, imported, parts);
  if (rank == 0) {
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
                tsv_field(printable(i.other_clip_id)) + "\t" + tsv_field(printable(i.detail)) +
                "\n";
    }
    fs::atomic_write_file(out / data::shard::kIntegrityFile, report);
    if (m.num_clips() == 0) {
      std::printf("input %lld = packed 0 + rejected %lld\n",
                  static_cast<long long>(m.num_input_clips()),
                  static_cast<long long>(m.num_rejected()));
      std::fflush(stdout);
    } else {
      // Shard files not in this manifest (an earlier run with other ranks) are stale.
      std::set<std::string> live;
      for (const auto& s : m.shards()) {
        live.insert(s.file());
        live.insert(s.file() + ".clips.json");
      }
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
                  static_cast<long long>(m.num_input_clips()),
                  static_cast<long long>(m.num_clips()), static_cast<long long>(m.num_rejected()));
      std::fflush(stdout);
    }
  }
  if (m.num_clips() == 0) {
    // A pack with nothing in it has failed: no manifest, non-zero exit, one line why.
    if (m.num_input_clips() == 0) {
      throw UserError("nothing to pack: the " + opts.format + " importer found no clip under " +
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
    throw UserError("nothing packed: all " + std::to_string(m.num_input_clips()) +
                    " input clip(s) were rejected (" + why + "): see " +
                    (out / data::shard::kRejectedFile).string());
  }
  comm->barrier();
  return 0;
}

}  // namespace hesp::pack
