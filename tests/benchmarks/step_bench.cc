// One HESP training step on the CPU with the released ViT-B/32 shapes (random weights),
// T = 8 frames, batch 8, K = 7: wall time split into the visual tower (prompted frames,
// forward + backward to the prompt), the text tower (prompt contexts), the negative
// images, the losses, the optimiser and the normalised-gradient step, with achieved GFLOP/s beside
// the sgemm ceiling and peak memory, and the cost of the non-finite check beside the step. The same
// step for clip_arpl, for comparison. On a GPU
// (--device cuda, a LibTorch with CUDA) the whole step only, optionally in bf16 autocast, with the
// CUDA allocator's peak memory; --checkpointing turns on train.activation_checkpointing (the image
// tower's blocks recomputed in backward). Usage: bench_step [--arch ViT-B/32] [--frames 8] [--batch
// 8] [--reps 2] [--device cuda]
//                   [--bf16] [--checkpointing] [--name step]
#include <algorithm>
#include <cstring>

#include "bench_util.h"
#include "clip/model/clip_config.h"
#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "comm/communicator.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "optim/gradient_allreduce.h"
#include "optim/sgd.h"
#include "util/threads.h"
#include "util/torch_compat.h"

namespace {

using namespace hesp;

// Matrix-product FLOPs of one ViT image forward (2 x multiply-adds).
double vit_forward_flops(const clip::ClipConfig& c) {
  const double n = static_cast<double>(c.num_visual_tokens()),
               W = static_cast<double>(c.vision_width);
  const double p = static_cast<double>(c.vision_patch_size);
  const double per_layer =
      2 * n * W * 3 * W + 2 * n * n * W * 2 + 2 * n * W * W + 2 * n * W * 8 * W;
  return 2 * (n - 1) * W * 3 * p * p + c.vision_layers * per_layer + 2 * W * c.embed_dim;
}

double text_forward_flops(const clip::ClipConfig& c, double length) {
  const double W = static_cast<double>(c.transformer_width);
  const double per_layer = 2 * length * W * 3 * W + 2 * length * length * W * 2 +
                           2 * length * W * W + 2 * length * W * 8 * W;
  return c.transformer_layers * per_layer + 2 * W * c.embed_dim;
}

struct Options {
  std::string arch = "ViT-B/32", name = "step";
  int T = 8, B = 8, reps = 2;
  bool cuda = false, bf16 = false, checkpointing = false;
};

nlohmann::json bench_method(config::Method method, const Options& o, int K, int threads,
                            double ceiling) {
  const std::string& arch = o.arch;
  const int T = o.T, B = o.B, reps = o.reps;
  const auto cfg = clip::named_config(arch);
  auto clip = std::make_shared<clip::ClipModel>(cfg);
  clip->init_random(0);
  clip->freeze();
  clip->set_activation_checkpointing(o.checkpointing);
  const clip::Tokenizer tok(std::string(HESP_SOURCE_DIR) +
                            "/src/clip/data/bpe_simple_vocab_16e6.txt.gz");
  config::Experiment exp;
  exp.set_method(method);
  exp.mutable_data()->set_image_size(static_cast<int>(cfg.image_resolution));
  exp.mutable_data()->set_frames_per_clip(T);
  const std::vector<std::string> classes{"angry",   "disgust", "fear",    "happy",
                                         "neutral", "sad",     "surprise"};
  torch::manual_seed(0);
  model::HespModel m(config::method_traits(exp.method()), exp.model(), exp.prompts(), exp.data(),
                     exp.losses(), clip, tok,
                     std::vector<std::string>(classes.begin(), classes.begin() + K));
  const torch::Device device = o.cuda ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  clip->to(device);  // As the trainer: built on the CPU, then moved.
  m->to(device);
  optim::Sgd sgd(m->learnable(), 0.9, 1e-4);
  sgd.set_lr(0.01);
  comm::SingleCommunicator single;
  const int64_t S = cfg.image_resolution;
  const auto frames = torch::rand({B, T, 3, S, S}).to(device);
  const auto centers = torch::full({B, 2}, S / 2, torch::kLong);
  const auto labels = (torch::arange(B, torch::kLong) % K).to(device);

  // The whole step, as the trainer runs it (the normalised step of spec §8, default on,
  // acts for hesp: delta and N).
  auto step = [&] {
    sgd.zero_grad();
    model::LossBreakdown loss;
    {
      compat::CudaBf16Autocast autocast(o.cuda && o.bf16);
      const auto out = m->forward(frames, centers);
      loss = model::hesp_loss(exp, *m, out, labels, single);
    }
    loss.total.backward();
    optim::apply_normalized_step(exp.optim(), m->delta(), m->negative_images());
    sgd.step();
    compat::cuda_synchronize();
  };
  if (o.cuda) {
    step();  // Warm-up (cuBLAS handles, allocator), then the peak of the timed steps.
    compat::cuda_synchronize();
    compat::reset_cuda_peak(0);
  }
  const double step_s = bench::time_median(step, reps, 1);
  // The trainer's divergence check (docs/training.md, "Divergence") on the gradients the
  // last step left: std::isfinite of the loss terms (negligible) and, after the gradient
  // all-reduce, first_non_finite_gradient over the learnable tensors. Must stay under 1%
  // of the step.
  const auto learnable = m->learnable();
  size_t non_finite = 0;
  const double check_s =
      bench::time_median([&] { non_finite += optim::first_non_finite_gradient(learnable).size(); },
                         std::max(reps, 50), 3);
  if (non_finite != 0) throw std::runtime_error("a benchmark step left non-finite gradients");
  // FLOPs of the step: with prompts, frames and negative images forward and
  // backward-to-input (~2x forward for a frozen tower: no weight gradients), the text
  // tower likewise; without (clip_arpl), the frames forward only. Checkpointing adds one
  // more forward of the image tower's blocks, not counted (the work the step needs).
  const bool prompts = method == config::hesp || method == config::hesp_b1;
  const double images = static_cast<double>(B * T + (prompts ? K : 0));
  const double passes = prompts ? 2 : 1;
  const double text_len = 1 + 16 + 4;  // SOT, contexts, name + "." + EOT (cut at EOT)
  const double flops = passes * images * vit_forward_flops(cfg) +
                       (prompts ? 2 * K * text_forward_flops(cfg, text_len) : 0.0);
  if (o.cuda) {
    return {
        {"method", config::Method_Name(method)},
        {"impl", "hesp"},
        {"arch", arch},
        {"frames", T},
        {"batch", B},
        {"classes", K},
        {"device", "cuda"},
        {"bf16_autocast", o.bf16},
        {"activation_checkpointing", o.checkpointing},
        {"step_s", step_s},
        {"non_finite_check_s", check_s},
        {"non_finite_check_fraction", check_s / step_s},
        {"frames_per_s", B * T / step_s},
        {"step_tflop", flops / 1e12},
        {"achieved_tflops", flops / step_s / 1e12},
        {"peak_memory_mib", static_cast<double>(compat::cuda_peak_allocated_bytes(0)) / (1 << 20)}};
  }

  // The parts, each timed on its own (forward + backward to the learnable inputs).
  nlohmann::json parts;
  if (prompts) {  // Prompted frames: forward and backward to the pixels (delta).
    auto x = torch::rand({B * T, 3, S, S}).requires_grad_(true);
    parts["visual_fwd_bwd_s"] =
        bench::time_median([&] { clip->encode_image(x).sum().backward(); }, reps, 1);
  } else {  // Frozen features: forward only, as the model runs it.
    auto x = torch::rand({B * T, 3, S, S});
    parts["visual_fwd_s"] = bench::time_median(
        [&] {
          torch::NoGradGuard no_grad;
          clip->encode_image(x);
        },
        reps, 1);
  }
  if (prompts) {
    parts["text_fwd_bwd_s"] =
        bench::time_median([&] { m->known_text_features().sum().backward(); }, reps, 1);
    auto n = torch::randn({K, 3, S, S}).requires_grad_(true);
    parts["negative_images_fwd_bwd_s"] =
        bench::time_median([&] { clip->encode_image(n).sum().backward(); }, reps, 1);
  }
  {
    const auto out = m->forward(frames, centers);
    model::Outputs detached = out;
    detached.video_features = out.video_features.detach().requires_grad_(true);
    if (out.known_logits.defined())
      detached.known_logits = out.known_logits.detach().requires_grad_(true);
    if (out.negative_logits.defined())
      detached.negative_logits = out.negative_logits.detach().requires_grad_(true);
    if (out.negative_image_features.defined())
      detached.negative_image_features = out.negative_image_features.detach().requires_grad_(true);
    if (out.combined_log_probs.defined())
      detached.combined_log_probs = out.combined_log_probs.detach().requires_grad_(true);
    parts["losses_s"] = bench::time_median(
        [&] { model::hesp_loss(exp, *m, detached, labels, single).total.backward(); }, reps, 1);
  }
  parts["optimizer_s"] = bench::time_median([&] { sgd.step(); }, reps, 1);
  parts["non_finite_check_s"] = check_s;
  parts["non_finite_check_fraction"] = check_s / step_s;
  if (prompts) {
    // Its cost, against the whole step (expected well under 1%).
    const double normalized_s = bench::time_median(
        [&] { optim::apply_normalized_step(exp.optim(), m->delta(), m->negative_images()); },
        std::max(reps, 20), 1);
    parts["normalized_step_s"] = normalized_s;
    parts["normalized_step_fraction"] = normalized_s / step_s;
  }

  const double gflops = flops / step_s / 1e9;
  return {{"method", config::Method_Name(method)},
          {"arch", arch},
          {"frames", T},
          {"batch", B},
          {"classes", K},
          {"threads", threads},
          {"activation_checkpointing", o.checkpointing},
          {"step_s", step_s},
          {"clips_per_s", B / step_s},
          {"parts", parts},
          {"step_gflop", flops / 1e9},
          {"achieved_gflops", gflops},
          {"sgemm_ceiling_gflops", ceiling},
          {"fraction_of_ceiling", gflops / ceiling},
          {"target_fraction", 0.5},
          {"peak_rss_mib", bench::peak_rss_mib()}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--arch") && has_value)
      o.arch = argv[++i];
    else if (!std::strcmp(argv[i], "--frames") && has_value)
      o.T = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--batch") && has_value)
      o.B = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps") && has_value)
      o.reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--name") && has_value)
      o.name = argv[++i];
    else if (!std::strcmp(argv[i], "--device") && has_value)
      o.cuda = !std::strcmp(argv[++i], "cuda");
    else if (!std::strcmp(argv[i], "--bf16"))
      o.bf16 = true;
    else if (!std::strcmp(argv[i], "--checkpointing"))
      o.checkpointing = true;
    else {
      std::cerr << "bench_step: unknown or incomplete option " << argv[i] << "\n";
      return 2;
    }
  }
  if (o.cuda && hesp::compat::cuda_device_count() == 0) {
    std::cerr << "bench_step: --device cuda, but no CUDA device (or a CPU-only LibTorch)\n";
    return 2;
  }
  const int threads = hesp::threads::configure(0, 1);
  nlohmann::json j;
  if (o.cuda) {
    j["hesp"] = bench_method(hesp::config::hesp, o, 7, threads, 0);
  } else {
    const double ceiling = hesp::bench::sgemm_ceiling(threads);
    j["hesp"] = bench_method(hesp::config::hesp, o, 7, threads, ceiling);
    if (!o.checkpointing)
      j["clip_arpl"] = bench_method(hesp::config::clip_arpl, o, 7, threads, ceiling);
  }
  hesp::bench::write_results(o.name, j);
  return 0;
}
