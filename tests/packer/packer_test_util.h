#pragma once
// Helpers for the packer tests: run the real hesp-pack binary, read packed datasets back
// with the shard reader, and compute expected frames straight from the source files.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/format/manifest_io.h"
#include "data/format/shard_reader.h"

namespace hesp::pack::testing {

namespace stdfs = std::filesystem;

inline std::string hesp_pack() { return std::string(HESP_BINARY_DIR) + "/bin/hesp-pack"; }

// A fresh, empty scratch folder under the build tree, named after the current test.
inline stdfs::path scratch(const std::string& tag = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  stdfs::path p = stdfs::path(HESP_BINARY_DIR) / "packer-tests" /
                  (std::string(info->test_suite_name()) + "." + info->name() + tag);
  stdfs::remove_all(p);
  stdfs::create_directories(p);
  return p;
}

struct RunResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `args` through the shell (2>&1) and returns the exit status and output.
inline RunResult run(const std::string& args) {
  RunResult r;
  FILE* p = ::popen((args + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline std::string q(const stdfs::path& p) { return "'" + p.string() + "'"; }

struct PackedClipData {
  data::shard::ClipRecord record;
  std::vector<uint8_t> rgb;  // T*S*S*3
};

// Every clip of a packed dataset, by clip id, read through the manifest's shard list.
inline std::map<std::string, PackedClipData> read_packed(const stdfs::path& dir,
                                                         bool with_frames = true) {
  const data::Manifest m = data::read_manifest(dir);
  std::map<std::string, PackedClipData> out;
  for (const auto& s : m.shards()) {
    data::ShardReader reader(dir / s.file());
    for (size_t i = 0; i < reader.records().size(); ++i) {
      PackedClipData d;
      d.record = reader.records()[i];
      if (with_frames) d.rgb = reader.read_rgb_frames(static_cast<int64_t>(i));
      EXPECT_TRUE(out.emplace(d.record.clip_id, std::move(d)).second) << "duplicate clip";
    }
  }
  return out;
}

// rejected.tsv / expected_rejections.tsv as clip id -> reason.
inline std::map<std::string, std::string> read_reasons(const stdfs::path& tsv, int reason_col) {
  std::map<std::string, std::string> out;
  FILE* f = std::fopen(tsv.c_str(), "r");
  if (!f) return out;
  char line[8192];
  while (std::fgets(line, sizeof(line), f)) {
    std::vector<std::string> cols;
    std::string cur;
    for (char* c = line; *c && *c != '\n'; ++c) {
      if (*c == '\t') {
        cols.push_back(cur);
        cur.clear();
      } else {
        cur += *c;
      }
    }
    cols.push_back(cur);
    if (static_cast<int>(cols.size()) > reason_col) out[cols[0]] = cols[reason_col];
  }
  std::fclose(f);
  return out;
}

}  // namespace hesp::pack::testing
