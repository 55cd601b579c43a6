#include "verify_inspect.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "data/format/jpeg_codec.h"
#include "data/format/manifest_io.h"
#include "data/format/shard_reader.h"
#include "text_lines.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/hash.h"

namespace hesp::pack {
namespace {

namespace stdfs = std::filesystem;

std::string mib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f MiB", bytes / 1048576.0);
  return buf;
}

}  // namespace

int run_verify(const std::string& dir_text, bool quick) {
  const stdfs::path dir(dir_text);
  const data::Manifest m = data::read_manifest(dir);
  const auto& p = m.params();
  const std::string encoding = data::encoding_name(p.encoding());
  std::set<std::string> ids;
  int64_t clips = 0, frames = 0;
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (const auto& s : m.shards()) {
    const stdfs::path path = dir / s.file();
    const std::string name = "shard " + s.file();
    if (!stdfs::exists(path)) throw UserError(name + ": missing");
    const auto size = static_cast<int64_t>(stdfs::file_size(path));
    if (size != s.size_bytes()) {
      throw UserError(name + (size < s.size_bytes() ? " is truncated: " : ": size ") +
                      std::to_string(size) + " bytes, manifest says " +
                      std::to_string(s.size_bytes()));
    }
    if (hash::sha256_file_hex(path) != s.sha256()) {
      throw UserError(name + ": sha256 does not match the manifest (corrupt or modified)");
    }
    data::ShardReader reader(path, &s);
    const auto& h = reader.header();
    if (h.encoding != encoding || h.frames_per_clip != p.frames_per_clip() || h.size != p.size()) {
      throw UserError(name +
                      ": header (encoding, frames_per_clip, size) differs from the manifest");
    }
    if (h.num_clips != s.num_clips()) {
      throw UserError(name + ": holds " + std::to_string(h.num_clips) + " clips, manifest says " +
                      std::to_string(s.num_clips()));
    }
    for (int64_t i = 0; i < h.num_clips; ++i) {
      const auto& r = reader.records()[static_cast<size_t>(i)];
      if (!ids.insert(r.clip_id).second) throw UserError(name + ": duplicate clip " + r.clip_id);
      if (r.label < -1 || r.label >= m.class_names_size()) {
        throw UserError(name + " clip " + r.clip_id + ": label " + std::to_string(r.label) +
                        " outside the class list");
      }
      const std::string cls = r.label >= 0 ? m.class_names(r.label) : "";
      ++counts[{cls, r.split}];
      if (!quick) {
        try {
          reader.read_rgb_frames(i);
        } catch (const UserError& e) {
          throw UserError(name + " clip " + r.clip_id + ": " + e.what());
        }
        frames += reader.stored_frames(i);
      }
    }
    clips += h.num_clips;
  }
  if (clips != m.num_clips()) {
    throw UserError("manifest num_clips " + std::to_string(m.num_clips()) + " but shards hold " +
                    std::to_string(clips));
  }
  if (m.num_input_clips() != m.num_clips() + m.num_rejected()) {
    throw UserError("manifest: num_input_clips != num_clips + num_rejected");
  }
  for (const auto& c : m.counts()) {
    const auto it = counts.find({c.class_name(), c.split()});
    const int64_t have = it == counts.end() ? 0 : it->second;
    if (have != c.count()) {
      throw UserError("manifest count for " + c.class_name() + "/" + c.split() + " is " +
                      std::to_string(c.count()) + " but the shards hold " + std::to_string(have));
    }
  }
  const stdfs::path rejected = dir / data::shard::kRejectedFile;
  int64_t rejected_lines = 0;
  if (stdfs::exists(rejected)) {
    rejected_lines =
        static_cast<int64_t>(read_text_lines(rejected.string(), "rejected list").size());
  }
  if (rejected_lines != m.num_rejected()) {
    throw UserError(rejected.string() + " lists " + std::to_string(rejected_lines) +
                    " clips, manifest says " + std::to_string(m.num_rejected()));
  }
  std::printf("verify OK: %lld clips in %d shards%s\n", static_cast<long long>(clips),
              m.shards_size(),
              quick ? " (checksums and structure; frames not decoded)"
                    : (", " + std::to_string(frames) + " frames decoded").c_str());
  return 0;
}

int run_inspect(const std::string& dir_text, const std::string& dump_clip, const std::string& out) {
  const stdfs::path dir(dir_text);
  const data::Manifest m = data::read_manifest(dir);
  if (!dump_clip.empty()) {
    if (out.empty()) throw ConfigError("--dump needs --out DIR");
    for (const auto& s : m.shards()) {
      data::ShardReader reader(dir / s.file(), &s);
      const int64_t i = reader.find(dump_clip);
      if (i < 0) continue;
      stdfs::create_directories(out);
      const int S = reader.header().size, T = reader.stored_frames(i);
      std::vector<std::string> frames;
      if (reader.header().encoding == "jpeg") {
        frames = reader.read_jpeg_frames(i);
      } else {
        const auto rgb = reader.read_rgb_frames(i);
        for (int j = 0; j < T; ++j) {
          frames.push_back(
              data::jpeg::encode_rgb(rgb.data() + static_cast<size_t>(j) * S * S * 3, S, S, 95));
        }
      }
      for (size_t j = 0; j < frames.size(); ++j) {
        fs::atomic_write_file(stdfs::path(out) / (std::to_string(j) + ".jpg"), frames[j]);
      }
      const auto& r = reader.records()[static_cast<size_t>(i)];
      std::printf("clip %s (label %d %s, split %s, %d source frames) from %s: %zu frames -> %s\n",
                  r.clip_id.c_str(), r.label, r.label >= 0 ? m.class_names(r.label).c_str() : "",
                  r.split.c_str(), r.source_num_frames, s.file().c_str(), frames.size(),
                  out.c_str());
      return 0;
    }
    throw UserError("clip " + dump_clip + " is not in " + dir.string());
  }
  const auto& p = m.params();
  std::printf("%s, %s, format %s, source %s\n", dir.c_str(), m.tool_version().c_str(),
              m.source_format().c_str(), m.source_root().c_str());
  std::printf("params: frames_per_clip %s, size %d, encoding %s, jpeg_quality %d, resize %s\n",
              p.frames_per_clip() > 0 ? ("cap " + std::to_string(p.frames_per_clip())).c_str()
                                      : "every source frame",
              p.size(), data::encoding_name(p.encoding()).c_str(), p.jpeg_quality(),
              p.resize() == data::PackParams::center_crop ? "center-crop" : "stretch");
  std::printf("clips: %lld packed + %lld rejected = %lld input\n",
              static_cast<long long>(m.num_clips()), static_cast<long long>(m.num_rejected()),
              static_cast<long long>(m.num_input_clips()));
  std::printf("\n%-20s", "class");
  for (const auto& s : m.splits()) std::printf(" %14s", s.c_str());
  std::printf("\n");
  for (int c = 0; c < m.class_names_size(); ++c) {
    std::printf("%-20s", m.class_names(c).c_str());
    for (const auto& s : m.splits()) {
      int64_t n = 0;
      for (const auto& e : m.counts()) {
        if (e.class_name() == m.class_names(c) && e.split() == s) n = e.count();
      }
      std::printf(" %14lld", static_cast<long long>(n));
    }
    std::printf("\n");
  }
  int64_t total = 0;
  std::printf("\nshards:\n");
  for (const auto& s : m.shards()) {
    std::printf("  %-24s %6lld clips %12s\n", s.file().c_str(),
                static_cast<long long>(s.num_clips()), mib(s.size_bytes()).c_str());
    total += s.size_bytes();
  }
  std::printf("  total %s in %d shards\n", mib(total).c_str(), m.shards_size());
  return 0;
}

}  // namespace hesp::pack
