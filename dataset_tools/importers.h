#pragma once
// Importers: one per dataset layout (docs/datasets.md, "Converting real datasets").
// Each returns the clips in a deterministic order (sorted directory listings, annotation
// file order) so that every rank of a multi-process pack sees the same list.
#include <string>
#include <vector>

#include "media/clip_source.h"

namespace hesp::pack {

// Formats accepted by `convert --format`.
const std::vector<std::string>& importer_formats();

// Runs the importer for `format`; throws UserError for unusable input (missing root or
// annotation files, bad options). Duplicate clip ids are marked on the later clips.
ImportResult import_dataset(const std::string& format, const ImportOptions& opts);

// Default class lists (label order) of the known datasets.
const std::vector<std::string>& afew_classes();
const std::vector<std::string>& mafw_classes();
const std::vector<std::string>& dfew_classes();
const std::vector<std::string>& ferv39k_classes();

}  // namespace hesp::pack
