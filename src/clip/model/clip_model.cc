#include "clip/model/clip_model.h"

#include <cmath>
#include <sstream>

#include "clip/weights/weight_io.h"
#include "util/errors.h"

namespace hesp::clip {
namespace {

std::string shape_string(torch::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

}  // namespace

bool is_ignored_entry(const std::string& name) {
  return name == "input_resolution" || name == "context_length" || name == "vocab_size";
}

VisionTransformer::VisionTransformer(const ClipConfig& c) {
  const int64_t w = c.vision_width, p = c.vision_patch_size;
  conv1 =
      register_module("conv1", std::make_shared<WeightParams>(std::vector<int64_t>{w, 3, p, p}));
  class_embedding = register_parameter("class_embedding", torch::zeros({w}));
  positional_embedding =
      register_parameter("positional_embedding", torch::zeros({c.num_visual_tokens(), w}));
  ln_pre = register_module("ln_pre", std::make_shared<LayerNormParams>(w));
  transformer = register_module(
      "transformer", std::make_shared<Transformer>(w, c.vision_layers, c.vision_heads()));
  ln_post = register_module("ln_post", std::make_shared<LayerNormParams>(w));
  proj = register_parameter("proj", torch::zeros({w, c.embed_dim}));
}

ClipModel::ClipModel(const ClipConfig& c) : config_(c) {
  const int64_t d = c.transformer_width;
  // Registration order follows the reference state dict.
  positional_embedding =
      register_parameter("positional_embedding", torch::zeros({c.context_length, d}));
  text_projection = register_parameter("text_projection", torch::zeros({d, c.embed_dim}));
  logit_scale_ = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
  visual = register_module("visual", std::make_shared<VisionTransformer>(c));
  transformer = register_module(
      "transformer", std::make_shared<Transformer>(d, c.transformer_layers, c.transformer_heads()));
  token_embedding_ = register_module(
      "token_embedding", std::make_shared<WeightParams>(std::vector<int64_t>{c.vocab_size, d}));
  ln_final = register_module("ln_final", std::make_shared<LayerNormParams>(d));
}

std::shared_ptr<ClipModel> ClipModel::from_state_dict(const TensorMap& state_dict) {
  auto model = std::make_shared<ClipModel>(infer_config(state_dict));
  model->load_state(state_dict);
  return model;
}

std::shared_ptr<ClipModel> ClipModel::load(const std::string& path) {
  auto weights = weights::load_weights(path);
  try {
    return from_state_dict(weights.tensors);
  } catch (const UserError& e) {
    throw UserError(path + ": " + e.what(), e.exit_code());
  }
}

void ClipModel::load_state(const TensorMap& state_dict) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> missing, unexpected, wrong_shape;
  auto params = named_parameters(/*recurse=*/true);
  for (auto& p : params) {
    auto it = state_dict.find(p.key());
    if (it == state_dict.end()) {
      missing.push_back(p.key());
      continue;
    }
    if (it->second.sizes() != p.value().sizes()) {
      wrong_shape.push_back("tensor '" + p.key() + "' has shape " +
                            shape_string(it->second.sizes()) + " but the model expects " +
                            shape_string(p.value().sizes()));
      continue;
    }
    p.value().copy_(it->second);
  }
  for (const auto& [name, t] : state_dict) {
    if (!params.contains(name) && !is_ignored_entry(name)) unexpected.push_back(name);
  }
  if (missing.empty() && unexpected.empty() && wrong_shape.empty()) {
    freeze();
    return;
  }
  std::string msg = "weights do not match the CLIP architecture (" + config_.to_string() + "):";
  auto list = [&](const char* title, const std::vector<std::string>& v) {
    if (v.empty()) return;
    msg += std::string("\n  ") + title + " (" + std::to_string(v.size()) + "):";
    for (const auto& s : v) msg += "\n    " + s;
  };
  list("wrong shape", wrong_shape);
  list("missing tensors", missing);
  list("unexpected tensors", unexpected);
  throw UserError(msg);
}

void ClipModel::freeze() {
  for (auto& p : parameters(/*recurse=*/true)) p.set_requires_grad(false);
}

int64_t ClipModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

void ClipModel::init_random(uint64_t seed) {
  // The reference initialize_parameters (and nn defaults for the image tower's
  // LayerNorms): normal draws scaled by width^-0.5 so activations keep unit scale.
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  auto normal = [&](torch::Tensor& t, double std) { t.normal_(0.0, std, gen); };
  const auto& c = config_;
  normal(token_embedding_->weight, 0.02);
  normal(positional_embedding, 0.01);
  auto init_tower = [&](Transformer& tower, int64_t width) {
    const double proj_std = std::pow(width, -0.5) * std::pow(2.0 * tower.layers(), -0.5);
    const double attn_std = std::pow(width, -0.5);
    const double fc_std = std::pow(2.0 * width, -0.5);
    for (auto& b : tower.blocks) {
      normal(b->attn->in_proj_weight, attn_std);
      b->attn->in_proj_bias.zero_();
      normal(b->attn->out_proj->weight, proj_std);
      b->attn->out_proj->bias.zero_();
      normal(b->mlp->c_fc->weight, fc_std);
      b->mlp->c_fc->bias.zero_();
      normal(b->mlp->c_proj->weight, proj_std);
      b->mlp->c_proj->bias.zero_();
      b->ln_1->weight.fill_(1);
      b->ln_1->bias.zero_();
      b->ln_2->weight.fill_(1);
      b->ln_2->bias.zero_();
    }
  };
  init_tower(*transformer, c.transformer_width);
  normal(text_projection, std::pow(c.transformer_width, -0.5));
  const double vscale = std::pow(c.vision_width, -0.5);
  normal(visual->conv1->weight, std::pow(3.0 * c.vision_patch_size * c.vision_patch_size, -0.5));
  normal(visual->class_embedding, vscale);
  normal(visual->positional_embedding, vscale);
  normal(visual->proj, vscale);
  init_tower(*visual->transformer, c.vision_width);
  for (auto* ln : {visual->ln_pre.get(), visual->ln_post.get(), ln_final.get()}) {
    ln->weight.fill_(1);
    ln->bias.zero_();
  }
  logit_scale_.fill_(std::log(1.0 / 0.07));
  freeze();
}

// ---------------------------------------------------------------- image tower

torch::Tensor ClipModel::embed_image(const torch::Tensor& x) const {
  const int64_t r = config_.image_resolution, p = config_.vision_patch_size;
  const int64_t g = config_.grid_size(), w = config_.vision_width;
  if (x.dim() != 4 || x.size(1) != 3 || x.size(2) != r || x.size(3) != r) {
    throw UserError("CLIP image input must be [N, 3, " + std::to_string(r) + ", " +
                    std::to_string(r) + "], got " + shape_string(x.sizes()));
  }
  const int64_t n = x.size(0);
  // The stride-p conv is a GEMM over non-overlapping patches: lay each patch out as a
  // (c, ky, kx) row, matching the conv weight's [W, 3, p, p] order.
  auto patches =
      x.view({n, 3, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}).reshape({n * g * g, 3 * p * p});
  auto emb = torch::mm(patches, visual->conv1->weight.view({w, 3 * p * p}).t()).view({n, g * g, w});
  auto cls = visual->class_embedding.view({1, 1, w}).expand({n, 1, w});
  auto tokens = torch::cat({cls.to(emb.dtype()), emb}, 1) + visual->positional_embedding;
  return visual->ln_pre->forward(tokens);
}

torch::Tensor ClipModel::visual_tokens_before_last_block(const torch::Tensor& x) const {
  auto& tower = *visual->transformer;
  return tower.forward(embed_image(x), {}, 0, tower.layers() - 1);
}

torch::Tensor ClipModel::finish_image_from_last_block(const torch::Tensor& tokens) const {
  auto& tower = *visual->transformer;
  auto out = tower.forward(tokens, {}, tower.layers() - 1, tower.layers());
  return torch::mm(visual->ln_post->forward(out.select(1, 0)), visual->proj);
}

torch::Tensor ClipModel::visual_tokens(const torch::Tensor& x) const {
  return visual->transformer->forward(embed_image(x), {});
}

torch::Tensor ClipModel::project_visual_tokens(const torch::Tensor& tokens) const {
  return torch::matmul(visual->ln_post->forward(tokens), visual->proj);
}

torch::Tensor ClipModel::visual_tokens_proj(const torch::Tensor& x) const {
  return project_visual_tokens(visual_tokens(x));
}

torch::Tensor ClipModel::encode_image(const torch::Tensor& x) const {
  auto out = visual_tokens(x);
  return torch::mm(visual->ln_post->forward(out.select(1, 0)), visual->proj);
}

// ---------------------------------------------------------------- text tower

void ClipModel::check_tokens(const torch::Tensor& tokens) const {
  if (tokens.dim() != 2 || tokens.size(1) > config_.context_length || tokens.size(1) == 0 ||
      tokens.scalar_type() != torch::kLong) {
    throw UserError("CLIP text input must be int64 [M, L] with 1 <= L <= " +
                    std::to_string(config_.context_length) + ", got " +
                    std::string(c10::toString(tokens.scalar_type())) + " " +
                    shape_string(tokens.sizes()));
  }
  if (tokens.numel() > 0 &&
      (tokens.min().item<int64_t>() < 0 || tokens.max().item<int64_t>() >= config_.vocab_size)) {
    throw UserError("CLIP token ids must lie in [0, " + std::to_string(config_.vocab_size) + ")");
  }
}

torch::Tensor ClipModel::token_embedding(const torch::Tensor& tokens) const {
  check_tokens(tokens);
  return torch::embedding(token_embedding_->weight, tokens);
}

torch::Tensor ClipModel::run_text(const torch::Tensor& emb) const {
  const int64_t len = emb.size(1);
  auto x = emb + positional_embedding.narrow(0, 0, len);
  return transformer->forward(x, causal_mask(len, x.options()));
}

torch::Tensor ClipModel::encode_text_embeddings(const torch::Tensor& emb,
                                                const torch::Tensor& eot_index,
                                                bool cut_at_eot) const {
  if (emb.dim() != 3 || emb.size(2) != config_.transformer_width ||
      emb.size(1) > config_.context_length || eot_index.dim() != 1 ||
      eot_index.size(0) != emb.size(0)) {
    throw UserError(
        "encode_text_embeddings needs emb [M, L<=" + std::to_string(config_.context_length) + ", " +
        std::to_string(config_.transformer_width) + "] and eot_index [M], got " +
        shape_string(emb.sizes()) + " and " + shape_string(eot_index.sizes()));
  }
  auto eot = eot_index.to(torch::kLong);
  if (eot.numel() > 0 &&
      (eot.min().item<int64_t>() < 0 || eot.max().item<int64_t>() >= emb.size(1))) {
    throw UserError("eot_index out of range [0, " + std::to_string(emb.size(1)) + ")");
  }
  auto x = emb;
  if (cut_at_eot && eot.numel() > 0) x = emb.narrow(1, 0, eot.max().item<int64_t>() + 1);
  auto hidden = run_text(x);
  // ln_final is per position, so gathering the EOT rows first is exact and skips the
  // normalisation of every other position.
  auto pooled = hidden.index({torch::arange(hidden.size(0)), eot});
  return torch::mm(ln_final->forward(pooled), text_projection);
}

torch::Tensor ClipModel::encode_text(const torch::Tensor& tokens, bool cut_at_eot) const {
  check_tokens(tokens);
  return encode_text_embeddings(torch::embedding(token_embedding_->weight, tokens),
                                tokens.argmax(-1), cut_at_eot);
}

torch::Tensor ClipModel::text_hidden(const torch::Tensor& tokens) const {
  check_tokens(tokens);
  return ln_final->forward(run_text(torch::embedding(token_embedding_->weight, tokens)));
}

torch::Tensor ClipModel::logits_per_image(const torch::Tensor& image_features,
                                          const torch::Tensor& text_features) const {
  auto img = image_features / image_features.norm(2, -1, true);
  auto txt = text_features / text_features.norm(2, -1, true);
  return logit_scale_.exp() * torch::mm(img, txt.t());
}

}  // namespace hesp::clip
