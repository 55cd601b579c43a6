// CLIP tower throughput with random weights of the released shapes (ViT-B/32, ViT-B/16;
// fp32, batch 8, 224 px): forward and forward+backward-to-input images/s, achieved GFLOP/s
// (matmul/conv FLOPs counted analytically) beside the sgemm ceiling, and the text tower on
// 11 prompts of 16 contexts + a class name, full 77 positions vs cut at the last EOT.
// Targets: forward >= 60% of the ceiling, forward+backward >= 50%.
#include <torch/torch.h>

#include <iomanip>
#include <iostream>

#include "bench_util.h"
#include "clip/model/clip_model.h"

using hesp::clip::ClipConfig;
using hesp::clip::ClipModel;

namespace {

// Forward FLOPs of the image tower for one image (2 per multiply-add).
double image_forward_flops(const ClipConfig& c) {
  const double w = c.vision_width, t = c.num_visual_tokens(), g2 = c.grid_size() * c.grid_size();
  const double p2 = c.vision_patch_size * c.vision_patch_size;
  const double patch = 2 * g2 * 3 * p2 * w;
  // qkv 6tw^2 + out 2tw^2 + mlp 16tw^2 + scores 2t^2w + probs@v 2t^2w
  const double layer = 24 * t * w * w + 4 * t * t * w;
  return patch + c.vision_layers * layer + 2 * w * c.embed_dim;
}

// Backward to the input only (weights frozen): one matmul per linear (dX), two per
// attention product (both operands are activations).
double image_backward_flops(const ClipConfig& c) {
  const double w = c.vision_width, t = c.num_visual_tokens(), g2 = c.grid_size() * c.grid_size();
  const double p2 = c.vision_patch_size * c.vision_patch_size;
  const double layer = 24 * t * w * w + 8 * t * t * w;
  return 2 * g2 * 3 * p2 * w + c.vision_layers * layer + 2 * w * c.embed_dim;
}

double text_forward_flops(const ClipConfig& c, int64_t prompts, int64_t len) {
  const double w = c.transformer_width, t = static_cast<double>(len);
  return prompts * (c.transformer_layers * (24 * t * w * w + 4 * t * t * w) + 2 * w * c.embed_dim);
}

}  // namespace

int main() {
  const int threads = torch::get_num_threads();
  const double ceiling = hesp::bench::sgemm_ceiling(threads);
  std::cout << "threads " << threads << ", sgemm ceiling " << std::fixed << std::setprecision(1)
            << ceiling << " GFLOP/s" << std::endl;
  nlohmann::json results = {{"threads", threads}, {"sgemm_ceiling_gflops", ceiling}};
  const int64_t batch = 8;
  for (const std::string arch : {"ViT-B/32", "ViT-B/16"}) {
    const auto config = hesp::clip::named_config(arch);
    ClipModel model(config);
    model.init_random(0);
    auto x = torch::randn({batch, 3, 224, 224});
    const double fwd = hesp::bench::time_median(
        [&] {
          torch::NoGradGuard no_grad;
          model.encode_image(x);
        },
        3, 1);
    const double fwd_bwd = hesp::bench::time_median(
        [&] {
          auto in = x.clone().requires_grad_(true);
          model.encode_image(in).sum().backward();
        },
        3, 1);
    const double f_flops = batch * image_forward_flops(config);
    const double b_flops = batch * image_backward_flops(config);
    const double fwd_gflops = f_flops / fwd / 1e9, fb_gflops = (f_flops + b_flops) / fwd_bwd / 1e9;
    nlohmann::json r = {{"forward_images_per_s", batch / fwd},
                        {"forward_gflops", fwd_gflops},
                        {"forward_fraction_of_ceiling", fwd_gflops / ceiling},
                        {"forward_target_met", fwd_gflops >= 0.6 * ceiling},
                        {"fwd_bwd_images_per_s", batch / fwd_bwd},
                        {"fwd_bwd_gflops", fb_gflops},
                        {"fwd_bwd_fraction_of_ceiling", fb_gflops / ceiling},
                        {"fwd_bwd_target_met", fb_gflops >= 0.5 * ceiling}};
    std::cout << arch << ": forward " << batch / fwd << " img/s, " << fwd_gflops << " GFLOP/s ("
              << 100 * fwd_gflops / ceiling << "% of ceiling, target 60%); fwd+bwd "
              << batch / fwd_bwd << " img/s, " << fb_gflops << " GFLOP/s ("
              << 100 * fb_gflops / ceiling << "%, target 50%)" << std::endl;
    results[arch] = r;
  }
  {
    // Text: 11 prompts [SOT, 16 contexts, class name (1-3 tokens), ".", EOT, padding].
    const auto config = hesp::clip::named_config("ViT-B/32");
    ClipModel model(config);
    model.init_random(1);
    const int64_t prompts = 11;
    auto emb = torch::randn({prompts, 77, config.transformer_width}) * 0.02;
    auto eot = torch::empty({prompts}, torch::kLong);
    for (int64_t i = 0; i < prompts; ++i) eot[i] = 1 + 16 + (1 + i % 3) + 1;
    const int64_t cut_len = eot.max().item<int64_t>() + 1;
    torch::NoGradGuard no_grad;
    const double full =
        hesp::bench::time_median([&] { model.encode_text_embeddings(emb, eot, false); }, 7, 1);
    const double cut =
        hesp::bench::time_median([&] { model.encode_text_embeddings(emb, eot, true); }, 7, 1);
    const double max_diff = (model.encode_text_embeddings(emb, eot, false) -
                             model.encode_text_embeddings(emb, eot, true))
                                .abs()
                                .max()
                                .item<double>();
    results["text_11_prompts"] = {
        {"full_77_ms", 1e3 * full},
        {"cut_at_eot_ms", 1e3 * cut},
        {"cut_length", cut_len},
        {"speedup", full / cut},
        {"full_gflops", text_forward_flops(config, prompts, 77) / full / 1e9},
        {"cut_gflops", text_forward_flops(config, prompts, cut_len) / cut / 1e9},
        {"max_abs_difference", max_diff}};
    std::cout << "text (11 prompts): full 77 " << 1e3 * full << " ms, cut at " << cut_len << " "
              << 1e3 * cut << " ms (x" << full / cut << "), max |diff| " << std::scientific
              << max_diff << std::fixed << std::endl;
  }
  results["peak_rss_mib"] = hesp::bench::peak_rss_mib();
  hesp::bench::write_results("clip", results);
  return 0;
}
