#include "clip/weights/hf_names.h"

#include <regex>
#include <vector>

#include "util/errors.h"

namespace hesp::clip::weights {
namespace {

// Whole-name renames (tower-level tensors).
const std::vector<std::pair<std::string, std::string>>& fixed_names() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
      {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
      {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
      {"vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"},
      {"vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"},
      {"vision_model.post_layernorm.weight", "visual.ln_post.weight"},
      {"vision_model.post_layernorm.bias", "visual.ln_post.bias"},
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.weight", "ln_final.weight"},
      {"text_model.final_layer_norm.bias", "ln_final.bias"},
      {"logit_scale", "logit_scale"}};
  return kNames;
}

// Per-layer suffix renames (inside encoder.layers.{i}).
const std::vector<std::pair<std::string, std::string>>& layer_names() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"self_attn.out_proj.weight", "attn.out_proj.weight"},
      {"self_attn.out_proj.bias", "attn.out_proj.bias"},
      {"layer_norm1.weight", "ln_1.weight"},
      {"layer_norm1.bias", "ln_1.bias"},
      {"layer_norm2.weight", "ln_2.weight"},
      {"layer_norm2.bias", "ln_2.bias"},
      {"mlp.fc1.weight", "mlp.c_fc.weight"},
      {"mlp.fc1.bias", "mlp.c_fc.bias"},
      {"mlp.fc2.weight", "mlp.c_proj.weight"},
      {"mlp.fc2.bias", "mlp.c_proj.bias"}};
  return kNames;
}

std::string tower_prefix_openai(const std::string& hf_tower) {
  return hf_tower == "vision_model" ? "visual.transformer.resblocks." : "transformer.resblocks.";
}

}  // namespace

bool is_hf_clip_naming(const TensorMap& tensors) {
  return tensors.count("vision_model.embeddings.patch_embedding.weight") != 0 ||
         tensors.count("text_model.embeddings.token_embedding.weight") != 0;
}

TensorMap hf_to_openai(const TensorMap& hf, std::map<std::string, std::string>* dtypes) {
  static const std::regex kLayer(R"(^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$)");
  TensorMap out;
  std::map<std::string, std::string> new_dtypes;
  // q/k/v pieces, gathered per output name before concatenation.
  std::map<std::string, std::map<char, torch::Tensor>> qkv;
  auto rename = [&](const std::string& from, const std::string& to) {
    if (dtypes != nullptr && dtypes->count(from)) new_dtypes[to] = dtypes->at(from);
  };
  for (const auto& [name, t] : hf) {
    if (name.size() >= 12 && name.compare(name.size() - 12, 12, "position_ids") == 0) continue;
    bool done = false;
    for (const auto& [from, to] : fixed_names()) {
      if (name == from) {
        out[to] = t;
        rename(from, to);
        done = true;
      }
    }
    if (done) continue;
    if (name == "visual_projection.weight" || name == "text_projection.weight") {
      const std::string to = name == "visual_projection.weight" ? "visual.proj" : "text_projection";
      out[to] = t.t().contiguous();
      rename(name, to);
      continue;
    }
    std::smatch m;
    if (std::regex_match(name, m, kLayer)) {
      const std::string prefix = tower_prefix_openai(m[1]) + m[2].str() + ".";
      const std::string rest = m[3];
      static const std::regex kQkv(R"(^self_attn\.([qkv])_proj\.(weight|bias)$)");
      std::smatch q;
      if (std::regex_match(rest, q, kQkv)) {
        const std::string to = prefix + "attn.in_proj_" + q[2].str();
        qkv[to][q[1].str()[0]] = t;
        rename(name, to);
        continue;
      }
      for (const auto& [from, to] : layer_names()) {
        if (rest == from) {
          out[prefix + to] = t;
          rename(name, prefix + to);
          done = true;
        }
      }
      if (done) continue;
    }
    out[name] = t;  // unrecognised: reported by the model loader as unexpected
    rename(name, name);
  }
  for (auto& [to, parts] : qkv) {
    for (char c : {'q', 'k', 'v'}) {
      if (!parts.count(c)) {
        throw UserError(std::string("Hugging Face weights: the ") + c + "_proj piece of " + to +
                        " is missing (q, k and v are all needed to build in_proj)");
      }
    }
    out[to] = torch::cat({parts['q'], parts['k'], parts['v']}, 0);
  }
  if (dtypes != nullptr) *dtypes = std::move(new_dtypes);
  return out;
}

TensorMap openai_to_hf(const TensorMap& openai) {
  static const std::regex kBlock(R"(^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$)");
  TensorMap out;
  for (const auto& [name, t] : openai) {
    bool done = false;
    for (const auto& [hf, oa] : fixed_names()) {
      if (name == oa) {
        out[hf] = t;
        done = true;
      }
    }
    if (done) continue;
    if (name == "visual.proj") {
      out["visual_projection.weight"] = t.t().contiguous();
      continue;
    }
    if (name == "text_projection") {
      out["text_projection.weight"] = t.t().contiguous();
      continue;
    }
    std::smatch m;
    if (std::regex_match(name, m, kBlock)) {
      const std::string prefix = std::string(m[1].matched ? "vision_model" : "text_model") +
                                 ".encoder.layers." + m[2].str() + ".";
      const std::string rest = m[3];
      if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
        const std::string kind = rest == "attn.in_proj_weight" ? "weight" : "bias";
        auto parts = t.chunk(3, 0);
        out[prefix + "self_attn.q_proj." + kind] = parts[0].contiguous();
        out[prefix + "self_attn.k_proj." + kind] = parts[1].contiguous();
        out[prefix + "self_attn.v_proj." + kind] = parts[2].contiguous();
        continue;
      }
      for (const auto& [hf, oa] : layer_names()) {
        if (rest == oa) {
          out[prefix + hf] = t;
          done = true;
        }
      }
      if (done) continue;
    }
    out[name] = t;
  }
  return out;
}

}  // namespace hesp::clip::weights
