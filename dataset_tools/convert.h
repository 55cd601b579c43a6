#pragma once
// `hesp-pack convert`: import -> (per rank, a disjoint contiguous block of clips) decode,
// sample, resize, encode on a thread pool -> bounded shards written by one thread ->
// rank 0 gathers shard entries, counts and rejections and writes rejected.tsv, then the
// manifest, last. Each finished shard has a sidecar (<shard>.clips.json) recording every
// input clip of its range (packed or rejected) with its source signature
// (source_signature.h), the pack parameters and the shard's sha256. A rerun of the same
// command (after a crash, or after sources were re-extracted, repaired, added or removed)
// keeps each leading shard whose clips are all unchanged as it is, copies every other
// unchanged clip's stored frames from the earlier shards without decoding, packs the
// changed and new clips (a clip rejected before is tried again once its sources change),
// drops clips whose sources are gone, and prints
// "sources: reused N, re-packed M (sources changed), new K, removed R".
#include <string>

#include "data/format/manifest.pb.h"
#include "media/clip_source.h"

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
