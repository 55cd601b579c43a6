#pragma once
// The released name of a CLIP architecture, for result.json's "protocol" (docs/report.md).
#include <string>

#include "clip/model/clip_config.h"

namespace hesp::clip {

// "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px" or "tiny" when `c` equals that
// named_config, else "custom (<c.to_string()>)". Recorded in result.json ("protocol") so that
// `hesp report` knows whether a run is comparable with the paper (ViT-B/32).
std::string architecture_name(const ClipConfig& c);

}  // namespace hesp::clip
