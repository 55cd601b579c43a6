#pragma once
// CLIP hyper-parameters, inferred from a state dict exactly as the reference build_model
// does, so released checkpoints (ViT-B/32, B/16, L/14, L/14@336) need no flags.
#include <map>
#include <string>

#include <torch/torch.h>

namespace hesp::clip {

struct ClipConfig {
  int64_t embed_dim = 0;
  int64_t image_resolution = 0;
  int64_t vision_layers = 0;
  int64_t vision_width = 0;
  int64_t vision_patch_size = 0;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  int64_t transformer_width = 0;
  int64_t transformer_layers = 0;

  // Heads are not stored in the weights; the reference derives them as width / 64.
  int64_t vision_heads() const { return vision_width / 64; }
  int64_t transformer_heads() const { return transformer_width / 64; }
  int64_t grid_size() const { return image_resolution / vision_patch_size; }
  int64_t num_visual_tokens() const { return grid_size() * grid_size() + 1; }

  std::string to_string() const;
  bool operator==(const ClipConfig& o) const;
};

// Reads the architecture off the tensor shapes and key names (ViT image tower only; a
// ResNet checkpoint is refused with a UserError). Missing keys needed for inference and
// inconsistent shapes throw UserError naming the tensor.
ClipConfig infer_config(const std::map<std::string, torch::Tensor>& state_dict);

// Released architectures by name: "tiny" (the fixture's model A), "ViT-B/32", "ViT-B/16",
// "ViT-L/14", "ViT-L/14@336px". Throws ConfigError for an unknown name.
ClipConfig named_config(const std::string& arch);

}  // namespace hesp::clip
