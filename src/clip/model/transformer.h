#pragma once
// The reference CLIP transformer (pre-LN residual attention blocks with QuickGELU MLPs) as
// LibTorch modules whose parameter names equal the OpenAI state-dict keys
// (resblocks.{i}.attn.in_proj_weight, ...ln_1.weight, ...mlp.c_fc.bias, ...).
// The attention is written with fused QKV and batched matmuls: nn::MultiheadAttention in
// LibTorch 1.13 runs sequence-first with extra copies and is markedly slower on CPU.
#include <torch/torch.h>

namespace hesp::clip {

// A Linear's parameters (weight [out, in], bias [out]).
struct LinearParams : torch::nn::Module {
  LinearParams(int64_t in, int64_t out, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x2d) const;  // x [rows, in] -> [rows, out]
  torch::Tensor weight, bias;
};

// A LayerNorm's parameters; normalises in float32 (or wider) like the reference's
// fp16-safe LayerNorm subclass, eps 1e-5.
struct LayerNormParams : torch::nn::Module {
  explicit LayerNormParams(int64_t width);
  torch::Tensor forward(const torch::Tensor& x) const;
  torch::Tensor weight, bias;
};

struct AttentionParams : torch::nn::Module {
  explicit AttentionParams(int64_t width);
  torch::Tensor in_proj_weight, in_proj_bias;  // [3W, W], [3W]: q, k, v stacked
  std::shared_ptr<LinearParams> out_proj;
};

struct MlpParams : torch::nn::Module {
  explicit MlpParams(int64_t width);
  std::shared_ptr<LinearParams> c_fc, c_proj;  // W -> 4W -> W
};

struct ResidualAttentionBlock : torch::nn::Module {
  ResidualAttentionBlock(int64_t width, int64_t heads);
  // x [N, L, W] batch-first; mask [L, L] additive (causal) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) const;

  int64_t heads;
  std::shared_ptr<AttentionParams> attn;
  std::shared_ptr<LayerNormParams> ln_1, ln_2;
  std::shared_ptr<MlpParams> mlp;
};

struct Transformer : torch::nn::Module {
  Transformer(int64_t width, int64_t layers, int64_t heads);
  // Runs blocks [begin, end) (end = -1: all). With checkpoint_blocks, each block whose
  // input requires grad runs through checkpoint_block (activations not kept).
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask, int64_t begin = 0,
                        int64_t end = -1) const;
  int64_t layers() const { return static_cast<int64_t>(blocks.size()); }

  // Activation checkpointing (train.activation_checkpointing): off by default.
  bool checkpoint_blocks = false;

  torch::nn::ModuleList resblocks;
  std::vector<std::shared_ptr<ResidualAttentionBlock>> blocks;
};

// Activation checkpointing of one block: runs block(x, mask) without recording its
// intermediate activations (only x is kept) and recomputes them during backward, under the
// autocast settings of the forward, to take the gradient w.r.t. x (and, through the
// recomputed graph, to any block weight that requires grad). Same values and gradients as
// block.forward bit for bit (the same kernels run on the same inputs); costs one more
// forward of the block in backward. Needs x.requires_grad() and grad mode (CHECK); the
// block must outlive the backward pass. Source: Chen et al. 2016, "Training deep nets
// with sublinear memory cost"; torch.utils.checkpoint (reentrant variant).
torch::Tensor checkpoint_block(const ResidualAttentionBlock& block, const torch::Tensor& x,
                               const torch::Tensor& mask);

// x * sigmoid(1.702 x).
torch::Tensor quick_gelu(const torch::Tensor& x);

// Multi-head self-attention on batch-first x [N, L, W] with heads of width W / heads.
torch::Tensor self_attention(const AttentionParams& p, const torch::Tensor& x, int64_t heads,
                             const torch::Tensor& mask);

// The additive causal mask [L, L]: 0 on and below the diagonal, -inf above.
torch::Tensor causal_mask(int64_t length, const torch::TensorOptions& options);

}  // namespace hesp::clip
