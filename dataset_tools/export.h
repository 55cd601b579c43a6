#pragma once
// `hesp-pack export`: writes packed clips back out as media, so that a packed dataset's
// clips can be fed to tools that read videos or frame folders (`hesp predict`, other
// software) and compared with what the packed path gives.
#include <string>

namespace hesp::pack {

struct ExportOptions {
  std::string dir;            // Packed dataset folder.
  std::string out;            // Output folder (created).
  std::string split;          // Only clips of this split; empty = all.
  std::string as = "frames";  // frames: <out>/<clip>/<k>.png; video: <out>/<clip>.avi
  int max_clips = 0;          // 0 = all.
};

// Writes each clip's stored frames losslessly: PNG frame folders, or AVI videos in the
// lossless FFV1 codec (RGB), plus <out>/clips.txt listing the written paths (one per
// line, relative to <out>) and <out>/clip_ids.tsv ("path<TAB>clip_id"). Clip ids with
// '/' become '_' in file names. Throws UserError naming the dataset or the file.
int run_export(const ExportOptions& options);

}  // namespace hesp::pack
