// Dataset packing throughput: `hesp-pack convert` (frames/s, end to end: list, decode,
// sample, resize, encode, HDF5 write, fsync, sha256, manifest) beside the pure
// decode+resize+encode rate of the same clips on the same threads in this process, and
// bytes on disk per clip for jpeg vs raw; the source hashing of the re-pack rule
// (source_signature.h, every source file read and sha256'd) on the same threads as a share
// of the jpeg pack's time, and a re-pack with nothing changed. Source: a synthetic reference-list
// dataset of 224x224 JPEG frames (the shape of aligned-face datasets).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bench_util.h"
#include "data/format/manifest_io.h"
#include "importers.h"
#include "media/frame_source.h"
#include "source_signature.h"

namespace {

namespace stdfs = std::filesystem;

stdfs::path self_dir() { return stdfs::read_symlink("/proc/self/exe").parent_path(); }

// CPU seconds (user + sys) of this process or of its waited-for children so far: what a
// loaded machine does not inflate the way it inflates wall time.
double cpu_seconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double run_timed(const std::string& cmd) {
  const auto a = std::chrono::steady_clock::now();
  const int rc = std::system((cmd + " > /dev/null 2>&1").c_str());
  if (rc != 0) {
    std::fprintf(stderr, "failed (%d): %s\n", rc, cmd.c_str());
    std::exit(1);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

}  // namespace

int main() {
  using namespace hesp;
  const int threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  const int T = 16, S = 112;
  const stdfs::path work =
      stdfs::temp_directory_path() / ("hesp-pack-bench-" + std::to_string(::getpid()));
  const std::string pack = (self_dir() / "hesp-pack").string();
  const stdfs::path src = work / "src";
  run_timed(pack + " synth --layout reference-list --out '" + src.string() +
            "' --clips-per-class 30 --frames 40 --size 224");
  const std::string lists = " --format reference-list --root '" + src.string() +
                            "' --list train='" + (src / "train.txt").string() + "' --list val='" +
                            (src / "val.txt").string() + "'";
  const std::string common = lists + " --frames-per-clip " + std::to_string(T) + " --size " +
                             std::to_string(S) + " --threads " + std::to_string(threads);

  // Pure decode + resize + encode of the same clips, same thread count, no I/O of output.
  pack::ImportOptions io;
  io.root = src.string();
  io.lists = {{"train", (src / "train.txt").string()}, {"val", (src / "val.txt").string()}};
  const auto imported = pack::import_dataset("reference-list", io);
  const int64_t clips = static_cast<int64_t>(imported.clips.size());
  data::PackParams params;
  params.set_frames_per_clip(T);
  params.set_size(S);
  const double pure_s = bench::time_median(
      [&] {
        std::atomic<size_t> next{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
          pool.emplace_back([&] {
            for (size_t i; (i = next++) < imported.clips.size();) {
              pack::pack_clip(imported.clips[i], params);
            }
          });
        }
        for (auto& th : pool) th.join();
      },
      3, 1);

  // The re-pack rule's source hashing alone: every source file read and sha256'd, as a
  // re-pack does for the clips the earlier pack had (a new clip's signature comes from the
  // packer's own read and costs a stat per file).
  const double hash_cpu0 = cpu_seconds(RUSAGE_SELF);
  const double hash_s = bench::time_median(
      [&] {
        std::atomic<size_t> next{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
          pool.emplace_back([&] {
            for (size_t i; (i = next++) < imported.clips.size();) {
              pack::source_signature(imported.clips[i]);
            }
          });
        }
        for (auto& th : pool) th.join();
      },
      3, 1);
  const double hash_cpu_s = (cpu_seconds(RUSAGE_SELF) - hash_cpu0) / 4;  // 1 warm-up + 3.
  // What a re-pack pays for clips whose files were not written since: list and stat.
  const double stat_cpu0 = cpu_seconds(RUSAGE_SELF);
  bench::time_median(
      [&] {
        for (const auto& c : imported.clips) pack::source_stat(c);
      },
      3, 1);
  const double stat_cpu_s = (cpu_seconds(RUSAGE_SELF) - stat_cpu0) / 4;

  nlohmann::json j;
  j["threads"] = threads;
  j["clips"] = clips;
  j["frames_per_clip"] = T;
  j["size"] = S;
  j["source"] = "224x224 JPEG frame folders, 40-44 frames per clip";
  j["pure_decode_resize_encode_frames_per_s"] = clips * T / pure_s;
  for (const char* enc : {"jpeg", "raw"}) {
    const stdfs::path out = work / (std::string("out-") + enc);
    const double cpu0 = cpu_seconds(RUSAGE_CHILDREN);
    const double s = bench::time_median(
        [&] {
          stdfs::remove_all(out);
          run_timed(pack + " convert" + common + " --encoding " + enc + " --output '" +
                    out.string() + "'");
        },
        3, 1);
    const auto m = data::read_manifest(out);
    int64_t bytes = 0;
    for (const auto& sh : m.shards()) bytes += sh.size_bytes();
    j[std::string("pack_") + enc + "_frames_per_s"] = m.num_clips() * T / s;
    j[std::string("pack_") + enc + "_bytes_per_clip"] = static_cast<double>(bytes) / m.num_clips();
    const double pack_cpu_s = (cpu_seconds(RUSAGE_CHILDREN) - cpu0) / 4;
    if (std::string(enc) == "jpeg") {
      j["source_hash_cpu_s"] = hash_cpu_s;
      j["pack_jpeg_cpu_s"] = pack_cpu_s;
      j["source_hash_cpu_share_of_pack"] = hash_cpu_s / pack_cpu_s;
      j["source_stat_cpu_s"] = stat_cpu_s;
      j["source_stat_cpu_share_of_pack"] = stat_cpu_s / pack_cpu_s;
      j["source_hash_s"] = hash_s;
      j["pack_jpeg_s"] = s;
      j["source_hash_share_of_pack"] = hash_s / s;
      // The same command again, sources unchanged: hashing plus reusing every shard.
      j["repack_unchanged_s"] = bench::time_median(
          [&] {
            run_timed(pack + " convert" + common + " --encoding jpeg --output '" + out.string() +
                      "'");
          },
          3, 1);
    }
  }
  j["sgemm_ceiling_gflops"] = bench::sgemm_ceiling(threads);
  j["peak_rss_mib"] = bench::peak_rss_mib();
  std::printf(
      "pack: %d threads, %lld clips x %d frames at %dx%d\n"
      "  pure decode+resize+encode  %8.0f frames/s\n"
      "  hesp-pack convert jpeg     %8.0f frames/s, %8.0f bytes/clip\n"
      "  hesp-pack convert raw      %8.0f frames/s, %8.0f bytes/clip\n"
      "  source hashing (re-pack)   %8.3f s = %.1f%% of the jpeg pack (%.3f s); unchanged "
      "re-pack %.3f s\n"
      "  source hashing CPU         %8.3f s = %.1f%% of the jpeg pack's CPU (%.3f s)\n"
      "  source stat only CPU       %8.3f s = %.1f%% of it\n"
      "  (sgemm ceiling %.1f GFLOP/s on %d threads)\n",
      threads, static_cast<long long>(clips), T, S, S,
      j["pure_decode_resize_encode_frames_per_s"].get<double>(),
      j["pack_jpeg_frames_per_s"].get<double>(), j["pack_jpeg_bytes_per_clip"].get<double>(),
      j["pack_raw_frames_per_s"].get<double>(), j["pack_raw_bytes_per_clip"].get<double>(), hash_s,
      100 * j["source_hash_share_of_pack"].get<double>(), j["pack_jpeg_s"].get<double>(),
      j["repack_unchanged_s"].get<double>(), hash_cpu_s,
      100 * j["source_hash_cpu_share_of_pack"].get<double>(), j["pack_jpeg_cpu_s"].get<double>(),
      stat_cpu_s, 100 * j["source_stat_cpu_share_of_pack"].get<double>(),
      j["sgemm_ceiling_gflops"].get<double>(), threads);
  bench::write_results("pack", j);
  stdfs::remove_all(work);
  return 0;
}
