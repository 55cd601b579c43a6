#include "clip/model/transformer.h"

#include <glog/logging.h>

#include <cmath>

#include "util/torch_compat.h"

namespace hesp::clip {
namespace {

// In-place arithmetic is safe when autograd does not record the tensors involved (no
// grad mode, or nothing requires grad); it saves one allocation and pass per op.
bool recording(const torch::Tensor& a) {
  return torch::GradMode::is_enabled() && a.requires_grad();
}

}  // namespace

LinearParams::LinearParams(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor LinearParams::forward(const torch::Tensor& x2d) const {
  // addmm folds the bias into the GEMM; weight.t() is a transposed view that BLAS takes
  // as a transpose flag, so no copy is made.
  if (bias.defined()) return torch::addmm(bias, x2d, weight.t());
  return torch::mm(x2d, weight.t());
}

LayerNormParams::LayerNormParams(int64_t width) {
  weight = register_parameter("weight", torch::ones({width}));
  bias = register_parameter("bias", torch::zeros({width}));
}

torch::Tensor LayerNormParams::forward(const torch::Tensor& x) const {
  const auto dtype = x.scalar_type();
  if (dtype == torch::kHalf || dtype == torch::kBFloat16) {
    return torch::layer_norm(x.to(torch::kFloat), {weight.size(0)}, weight.to(torch::kFloat),
                             bias.to(torch::kFloat), 1e-5)
        .to(dtype);
  }
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, 1e-5);
}

AttentionParams::AttentionParams(int64_t width) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", std::make_shared<LinearParams>(width, width));
}

MlpParams::MlpParams(int64_t width) {
  c_fc = register_module("c_fc", std::make_shared<LinearParams>(width, 4 * width));
  c_proj = register_module("c_proj", std::make_shared<LinearParams>(4 * width, width));
}

torch::Tensor quick_gelu(const torch::Tensor& x) {
  if (recording(x)) return x * torch::sigmoid(x * 1.702);
  auto s = x.mul(1.702).sigmoid_();
  return s.mul_(x);
}

torch::Tensor causal_mask(int64_t length, const torch::TensorOptions& options) {
  return torch::full({length, length}, -std::numeric_limits<double>::infinity(), options).triu_(1);
}

torch::Tensor self_attention(const AttentionParams& p, const torch::Tensor& x, int64_t heads,
                             const torch::Tensor& mask) {
  const int64_t n = x.size(0), len = x.size(1), width = x.size(2);
  const int64_t head_dim = width / heads;
  // One GEMM for q, k and v together; then a single copy lays them out as
  // [3, N*H, L, d] so each of q, k, v is a contiguous batch for bmm.
  auto qkv = torch::addmm(p.in_proj_bias, x.reshape({n * len, width}), p.in_proj_weight.t());
  qkv = qkv.view({n, len, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).contiguous();
  qkv = qkv.view({3, n * heads, len, head_dim});
  const auto q = qkv[0], k = qkv[1], v = qkv[2];
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  // scores = scale * q k^T (+ mask), fused into one baddbmm call.
  torch::Tensor scores;
  if (mask.defined()) {
    scores = torch::baddbmm(mask.unsqueeze(0).expand({n * heads, len, len}), q, k.transpose(1, 2),
                            /*beta=*/1.0, /*alpha=*/scale);
  } else {
    scores = torch::baddbmm(torch::empty({n * heads, len, len}, x.options()), q, k.transpose(1, 2),
                            /*beta=*/0.0, /*alpha=*/scale);
  }
  auto probs = torch::_softmax(scores, -1, /*half_to_float=*/false);
  auto out = torch::bmm(probs, v);  // [N*H, L, d]
  out = out.view({n, heads, len, head_dim}).permute({0, 2, 1, 3}).reshape({n * len, width});
  return p.out_proj->forward(out).view({n, len, width});
}

ResidualAttentionBlock::ResidualAttentionBlock(int64_t width, int64_t num_heads)
    : heads(num_heads) {
  attn = register_module("attn", std::make_shared<AttentionParams>(width));
  ln_1 = register_module("ln_1", std::make_shared<LayerNormParams>(width));
  mlp = register_module("mlp", std::make_shared<MlpParams>(width));
  ln_2 = register_module("ln_2", std::make_shared<LayerNormParams>(width));
}

torch::Tensor ResidualAttentionBlock::forward(const torch::Tensor& x,
                                              const torch::Tensor& mask) const {
  const int64_t n = x.size(0), len = x.size(1), width = x.size(2);
  // x + attn(ln_1(x)); the sum is written into the attention output (ours), never into
  // x, which may be the caller's tensor.
  auto a = self_attention(*attn, ln_1->forward(x), heads, mask);
  auto h = recording(a) || recording(x) ? a + x : a.add_(x);
  auto m = mlp->c_fc->forward(ln_2->forward(h).view({n * len, width}));
  m = mlp->c_proj->forward(quick_gelu(m)).view({n, len, width});
  return recording(m) || recording(h) ? m + h : m.add_(h);
}

Transformer::Transformer(int64_t width, int64_t layers, int64_t heads) {
  for (int64_t i = 0; i < layers; ++i) {
    blocks.push_back(std::make_shared<ResidualAttentionBlock>(width, heads));
    resblocks->push_back(blocks.back());
  }
  resblocks = register_module("resblocks", resblocks);
}

namespace {

// The autograd node of checkpoint_block. The forward runs without recording (custom
// functions' forwards run in no-grad mode); backward rebuilds the block's graph from the
// saved input and differentiates it.
struct CheckpointedBlock : torch::autograd::Function<CheckpointedBlock> {
  // The mask travels as a pointer: an undefined tensor cannot be an autograd input.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const ResidualAttentionBlock* block, const torch::Tensor* mask) {
    const auto autocast = compat::autocast_state();
    ctx->saved_data["block"] = reinterpret_cast<int64_t>(block);
    ctx->saved_data["cpu_autocast"] = autocast.cpu_enabled;
    ctx->saved_data["cuda_autocast"] = autocast.cuda_enabled;
    ctx->saved_data["cpu_dtype"] = static_cast<int64_t>(autocast.cpu_dtype);
    ctx->saved_data["cuda_dtype"] = static_cast<int64_t>(autocast.cuda_dtype);
    if (mask->defined()) ctx->saved_data["mask"] = *mask;
    ctx->save_for_backward({x});
    return block->forward(x, *mask);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* block =
        reinterpret_cast<const ResidualAttentionBlock*>(ctx->saved_data["block"].toInt());
    compat::AutocastState autocast;
    autocast.cpu_enabled = ctx->saved_data["cpu_autocast"].toBool();
    autocast.cuda_enabled = ctx->saved_data["cuda_autocast"].toBool();
    autocast.cpu_dtype = static_cast<at::ScalarType>(ctx->saved_data["cpu_dtype"].toInt());
    autocast.cuda_dtype = static_cast<at::ScalarType>(ctx->saved_data["cuda_dtype"].toInt());
    const auto mask =
        ctx->saved_data.count("mask") ? ctx->saved_data["mask"].toTensor() : torch::Tensor();
    const auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode grad(true);
      compat::AutocastScope scope(autocast);
      out = block->forward(x, mask);
    }
    // Accumulates into x.grad (and into any block weight that requires grad), like the
    // plain graph would have.
    torch::autograd::backward({out}, {grads[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor checkpoint_block(const ResidualAttentionBlock& block, const torch::Tensor& x,
                               const torch::Tensor& mask) {
  CHECK(torch::GradMode::is_enabled() && x.requires_grad())
      << "checkpoint_block without a gradient to take";
  return CheckpointedBlock::apply(x, &block, &mask);
}

torch::Tensor Transformer::forward(torch::Tensor x, const torch::Tensor& mask, int64_t begin,
                                   int64_t end) const {
  if (end < 0) end = layers();
  for (int64_t i = begin; i < end; ++i) {
    if (checkpoint_blocks && torch::GradMode::is_enabled() && x.requires_grad()) {
      x = checkpoint_block(*blocks[i], x, mask);
    } else {
      x = blocks[i]->forward(x, mask);
    }
  }
  return x;
}

}  // namespace hesp::clip
