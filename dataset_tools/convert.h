#pragma once
// `hesp-pack convert`: import -> (per rank, a disjoint contiguous block of clips) decode,
// sample, resize, encode on a thread pool -> bounded shards written by one thread ->
// rank 0 gathers shard entries, counts and rejections and writes rejected.tsv, then the
// manifest, last. Resumable: each finished shard has a sidecar (<shard>.clips.json)
// recording the clips it holds and its sha256; a rerun reuses every shard whose sidecar
// and checksum still match, and redoes the rest.
#include <string>

#include "clip_source.h"
#include "data/format/manifest.pb.h"

namespace hesp::pack {

struct ConvertOptions {
  std::string format;
  ImportOptions import;
  data::PackParams params;
  std::string output;
  int threads = 0;  // 0: cores / local ranks.
  bool strict = false;
};

// Returns the process exit code; throws UserError for fatal problems.
int run_convert(const ConvertOptions& opts);

// The shard file name of shard k of `rank` out of `size` ranks.
std::string shard_file_name(int rank, int size, int k);

}  // namespace hesp::pack
