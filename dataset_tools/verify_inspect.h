#pragma once
// `hesp-pack verify` and `hesp-pack inspect`.
#include <string>

namespace hesp::pack {

// Checks the manifest against the shards (existence, size, sha256), each shard's
// structure against the manifest, totals and rejected.tsv, then (unless quick) decodes
// every frame. Throws UserError naming the shard (and the clip) on the first problem.
int run_verify(const std::string& dir, bool quick);

// Prints counts per class x split, shard sizes and pack parameters. With dump_clip set,
// writes that clip's frames as <out>/<k>.jpg.
int run_inspect(const std::string& dir, const std::string& dump_clip, const std::string& out);

}  // namespace hesp::pack
