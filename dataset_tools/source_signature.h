#pragma once
// A clip's source identity for `hesp-pack convert`'s re-pack rule (docs/datasets.md,
// "Packing again after the sources change"): what its packed frames depend on besides the
// pack parameters. Two packs of a clip with equal signatures store the same frames, so a
// re-pack copies such a clip from the earlier shards instead of decoding it again.
#include <cstdint>
#include <string>

#include "media/clip_source.h"

namespace hesp::pack {

struct SourceSignature {
  // sha256 (hex) over: the clip's path and kind (folder / video), its annotated frame
  // count and importer verdict, every source file's name and size in bytes (the frame
  // files of the folder in time order, or the video file), and the clip's content hash:
  // PackedClip::content_hash (frame_source.h), i.e. the sha256 over the sha256 of each
  // frame file (folder) or the sha256 of the video file. A folder listing problem (gap,
  // empty) or an unreadable file enters as its message. Modification times do not enter:
  // a file re-extracted with the same bytes is the same.
  std::string hash;
  int64_t files = 0;            // Source files hashed.
  int64_t bytes = 0;            // Their total size.
  int64_t newest_mtime_ns = 0;  // Newest modification time (ns since the epoch), for reports.
  // sha256 over the same clip fields and each file's name, size, mtime, ctime and inode:
  // while it is unchanged no file was written since (ctime cannot be set back, not even by
  // `cp -p` or `rsync -t`), so `hash` from the earlier run stands without reading the files.
  std::string stat_hash;
};

// Reads (and hashes) every source file of `clip` once; never throws for problems of the
// clip's data (they enter the signature). Thread-safe.
SourceSignature source_signature(const ClipSource& clip);
// The same signature for a clip just packed, from the content hash the packer computed
// while reading the files (PackedClip::content_hash, non-empty): lists and stats the
// files, reads none. Thread-safe.
SourceSignature source_signature(const ClipSource& clip, const std::string& content_hash);
// Lists and stats only: every field but `hash` (left empty). Thread-safe.
SourceSignature source_stat(const ClipSource& clip);

}  // namespace hesp::pack
