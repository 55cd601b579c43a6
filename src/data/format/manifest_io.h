#pragma once
// Reading and writing manifest.pbtxt (hesp.data.Manifest in protobuf text format).
#include <filesystem>
#include <string>

#include "data/format/manifest.pb.h"

namespace hesp::data {

// `path` is the packed directory or the manifest file itself. Throws UserError naming
// the file and the line on a parse error (unknown fields are errors, not skipped).
Manifest read_manifest(const std::filesystem::path& path);

// Writes <dir>/manifest.pbtxt atomically (temporary file, fsync, rename).
void write_manifest(const std::filesystem::path& dir, const Manifest& m);

std::string manifest_to_text(const Manifest& m);

// "jpeg" / "raw", as stored in the shards' `encoding` attribute.
std::string encoding_name(PackParams::Encoding e);

}  // namespace hesp::data
