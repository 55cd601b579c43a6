#include "clip/model/clip_config.h"

#include "clip/model/architecture_name.h"

#include <cmath>
#include <set>
#include <sstream>

#include "util/errors.h"

namespace hesp::clip {
namespace {

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& sd, const std::string& name,
                          int64_t dims) {
  auto it = sd.find(name);
  if (it == sd.end()) {
    throw UserError("cannot infer the CLIP architecture: tensor '" + name + "' is missing");
  }
  if (it->second.dim() != dims) {
    throw UserError("cannot infer the CLIP architecture: tensor '" + name + "' has " +
                    std::to_string(it->second.dim()) + " dimensions, expected " +
                    std::to_string(dims));
  }
  return it->second;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

}  // namespace

std::string ClipConfig::to_string() const {
  std::ostringstream o;
  o << "embed_dim=" << embed_dim << " image_resolution=" << image_resolution
    << " vision_layers=" << vision_layers << " vision_width=" << vision_width
    << " vision_patch_size=" << vision_patch_size << " vision_heads=" << vision_heads()
    << " grid=" << grid_size() << " context_length=" << context_length
    << " vocab_size=" << vocab_size << " transformer_width=" << transformer_width
    << " transformer_heads=" << transformer_heads() << " transformer_layers=" << transformer_layers;
  return o.str();
}

bool ClipConfig::operator==(const ClipConfig& o) const {
  return embed_dim == o.embed_dim && image_resolution == o.image_resolution &&
         vision_layers == o.vision_layers && vision_width == o.vision_width &&
         vision_patch_size == o.vision_patch_size && context_length == o.context_length &&
         vocab_size == o.vocab_size && transformer_width == o.transformer_width &&
         transformer_layers == o.transformer_layers;
}

ClipConfig infer_config(const std::map<std::string, torch::Tensor>& sd) {
  if (sd.count("visual.proj") == 0 && sd.count("visual.attnpool.c_proj.weight") != 0) {
    throw UserError("ResNet CLIP image towers are not supported; use a ViT checkpoint");
  }
  ClipConfig c;
  // Tensor handles by value: GCC 14 (-Wdangling-reference) flags references to need()s.
  const torch::Tensor conv1 = need(sd, "visual.conv1.weight", 4);
  c.vision_width = conv1.size(0);
  c.vision_patch_size = conv1.size(-1);
  // Layers: one per distinct block holding an attention in_proj, as build_model counts.
  std::set<std::string> vision_blocks, text_blocks;
  for (const auto& [name, t] : sd) {
    if (!ends_with(name, ".attn.in_proj_weight")) continue;
    if (starts_with(name, "visual.transformer.resblocks.")) vision_blocks.insert(name);
    if (starts_with(name, "transformer.resblocks.")) text_blocks.insert(name);
  }
  c.vision_layers = static_cast<int64_t>(vision_blocks.size());
  c.transformer_layers = static_cast<int64_t>(text_blocks.size());
  const torch::Tensor vpos = need(sd, "visual.positional_embedding", 2);
  const int64_t grid = std::llround(std::sqrt(static_cast<double>(vpos.size(0) - 1)));
  if (grid * grid + 1 != vpos.size(0)) {
    throw UserError("tensor 'visual.positional_embedding' has " + std::to_string(vpos.size(0)) +
                    " rows, which is not 1 + grid^2");
  }
  c.image_resolution = c.vision_patch_size * grid;
  c.embed_dim = need(sd, "text_projection", 2).size(1);
  c.context_length = need(sd, "positional_embedding", 2).size(0);
  c.vocab_size = need(sd, "token_embedding.weight", 2).size(0);
  c.transformer_width = need(sd, "ln_final.weight", 1).size(0);
  if (c.vision_layers == 0 || c.transformer_layers == 0) {
    throw UserError("cannot infer the CLIP architecture: no attention blocks found (" +
                    std::to_string(c.vision_layers) + " vision, " +
                    std::to_string(c.transformer_layers) + " text)");
  }
  if (c.vision_width % 64 != 0 || c.transformer_width % 64 != 0) {
    throw UserError("CLIP widths must be multiples of 64 (heads = width / 64): vision " +
                    std::to_string(c.vision_width) + ", text " +
                    std::to_string(c.transformer_width));
  }
  return c;
}

ClipConfig named_config(const std::string& arch) {
  ClipConfig c;
  c.context_length = 77;
  c.vocab_size = 49408;
  if (arch == "tiny") {
    c.embed_dim = 64;
    c.image_resolution = 64;
    c.vision_layers = 2;
    c.vision_width = 128;
    c.vision_patch_size = 16;
    c.transformer_width = 64;
    c.transformer_layers = 2;
  } else if (arch == "ViT-B/32" || arch == "ViT-B/16") {
    c.embed_dim = 512;
    c.image_resolution = 224;
    c.vision_layers = 12;
    c.vision_width = 768;
    c.vision_patch_size = arch == "ViT-B/32" ? 32 : 16;
    c.transformer_width = 512;
    c.transformer_layers = 12;
  } else if (arch == "ViT-L/14" || arch == "ViT-L/14@336px") {
    c.embed_dim = 768;
    c.image_resolution = arch == "ViT-L/14" ? 224 : 336;
    c.vision_layers = 24;
    c.vision_width = 1024;
    c.vision_patch_size = 14;
    c.transformer_width = 768;
    c.transformer_layers = 12;
  } else {
    throw ConfigError("unknown CLIP architecture '" + arch +
                      "' (tiny, ViT-B/32, ViT-B/16, ViT-L/14, ViT-L/14@336px)");
  }
  return c;
}

std::string architecture_name(const ClipConfig& c) {
  for (const char* name : {"ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px", "tiny"}) {
    if (named_config(name) == c) return name;
  }
  return "custom (" + c.to_string() + ")";
}

}  // namespace hesp::clip
