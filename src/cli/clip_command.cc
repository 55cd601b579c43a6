// `hesp clip ...`: encode (HDF5 in/out), info, init (random released-shape weights),
// zeroshot, and the tokenizer's `tokenize`.
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/app.h"
#include "clip/model/clip_model.h"
#include "clip/weights/h5_file.h"
#include "clip/weights/weight_io.h"
#include "util/errors.h"
#include "util/strings.h"
#include "util/threads.h"

#include "cli/clip_tokenize_command.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"

namespace hesp::cli {
namespace {

// Runs fn over row blocks of `x` and concatenates the results (bounded memory for large
// inputs; every row is independent in both towers).
torch::Tensor batched(const torch::Tensor& x, int64_t batch,
                      const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += batch) {
    parts.push_back(fn(x.narrow(0, i, std::min(batch, x.size(0) - i))));
  }
  return parts.empty() ? fn(x) : torch::cat(parts, 0);
}

struct EncodeOptions {
  std::string weights, input, output;
  int64_t batch = 16;
  bool tokens_proj = true;
};

int run_encode(const EncodeOptions& o) {
  torch::NoGradGuard no_grad;
  auto model = clip::ClipModel::load(o.weights);
  auto in = clip::H5File::open_read(o.input);
  const bool has_images = in.has("images"), has_tokens = in.has("tokens");
  if (!has_images && !has_tokens) {
    throw UserError(o.input +
                    ": needs an 'images' (float32 [N,3,R,R]) and/or 'tokens' "
                    "(int64 [M,L]) dataset");
  }
  auto out = clip::H5File::create(o.output);
  torch::Tensor image_features, text_features;
  if (has_images) {
    auto images = in.read_float("images");
    auto tokens =
        batched(images, o.batch, [&](const torch::Tensor& x) { return model->visual_tokens(x); });
    image_features =
        torch::mm(model->visual->ln_post->forward(tokens.select(1, 0)), model->visual->proj);
    out.write("image_features", image_features);
    out.write("visual_tokens", tokens);
    if (o.tokens_proj) out.write("visual_tokens_proj", model->project_visual_tokens(tokens));
  }
  if (has_tokens) {
    auto tokens = in.read_int64("tokens");
    text_features =
        batched(tokens, o.batch, [&](const torch::Tensor& t) { return model->encode_text(t); });
    out.write("text_features", text_features);
    out.write("eot_index", tokens.argmax(-1));
  }
  if (has_images && has_tokens) {
    out.write("logits_per_image", model->logits_per_image(image_features, text_features));
  }
  std::cout << "wrote " << o.output << std::endl;
  return kExitOk;
}

int run_info(const std::string& path) {
  auto w = clip::weights::load_weights(path);
  auto config = clip::infer_config(w.tensors);
  auto model = std::make_shared<clip::ClipModel>(config);
  try {
    model->load_state(w.tensors);
  } catch (const UserError& e) {
    throw UserError(path + ": " + e.what());
  }
  std::map<std::string, int> dtype_counts;
  for (const auto& [name, d] : w.storage_dtypes) dtype_counts[d]++;
  nlohmann::ordered_json j;
  j["weights"] = path;
  j["format"] = clip::weights::format_name(w.format);
  j["naming"] = w.hf_naming ? "huggingface" : "openai";
  j["embed_dim"] = config.embed_dim;
  j["image_resolution"] = config.image_resolution;
  j["vision_layers"] = config.vision_layers;
  j["vision_width"] = config.vision_width;
  j["vision_patch_size"] = config.vision_patch_size;
  j["vision_heads"] = config.vision_heads();
  j["grid_size"] = config.grid_size();
  j["context_length"] = config.context_length;
  j["vocab_size"] = config.vocab_size;
  j["transformer_width"] = config.transformer_width;
  j["transformer_heads"] = config.transformer_heads();
  j["transformer_layers"] = config.transformer_layers;
  j["parameter_count"] = model->parameter_count();
  j["tensor_count"] = w.tensors.size();
  j["storage_dtypes"] = dtype_counts;
  j["logit_scale"] = model->logit_scale().item<double>();
  std::cout << j.dump(2) << std::endl;
  return kExitOk;
}

int run_init(const std::string& arch, uint64_t seed, const std::string& out,
             const std::string& dtype) {
  const auto config = clip::named_config(arch);
  if (dtype != "fp32" && dtype != "fp16") throw ConfigError("--dtype must be fp32 or fp16");
  clip::ClipModel model(config);
  model.init_random(seed);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model.named_parameters(true)) tensors.emplace_back(p.key(), p.value());
  std::map<std::string, std::string> meta = {
      {"format", "pt"},
      {"source", "hesp clip init --arch " + arch + " --seed " + std::to_string(seed)},
      {"embed_dim", std::to_string(config.embed_dim)},
      {"image_resolution", std::to_string(config.image_resolution)},
      {"vision_layers", std::to_string(config.vision_layers)},
      {"vision_width", std::to_string(config.vision_width)},
      {"vision_patch_size", std::to_string(config.vision_patch_size)},
      {"vision_heads", std::to_string(config.vision_heads())},
      {"context_length", std::to_string(config.context_length)},
      {"vocab_size", std::to_string(config.vocab_size)},
      {"transformer_width", std::to_string(config.transformer_width)},
      {"transformer_heads", std::to_string(config.transformer_heads())},
      {"transformer_layers", std::to_string(config.transformer_layers)}};
  clip::weights::save_safetensors(
      out, tensors,
      dtype == "fp16" ? clip::weights::SaveDType::kF16 : clip::weights::SaveDType::kF32, meta);
  std::cout << "wrote " << out << " (" << arch << ", " << model.parameter_count() << " parameters, "
            << dtype << ")" << std::endl;
  return kExitOk;
}

std::vector<std::string> split_classes(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& item : strings::split(s, ',')) {
    if (auto name = strings::trim(item); !name.empty()) out.push_back(std::move(name));
  }
  return out;
}

struct ZeroshotOptions {
  std::string weights, classes, input, vocab;
  std::string templ = "a photo of a {}.";
};

int run_zeroshot(const ZeroshotOptions& o) {
  torch::NoGradGuard no_grad;
  const auto classes = split_classes(o.classes);
  if (classes.size() < 2) throw ConfigError("--classes needs at least two comma-separated names");
  if (o.templ.find("{}") == std::string::npos) throw ConfigError("--template must contain {}");
  std::vector<std::string> prompts;
  for (const auto& c : classes) {
    std::string p = o.templ;
    p.replace(p.find("{}"), 2, c);
    prompts.push_back(p);
  }
  clip::Tokenizer tokenizer(clip::resolve_vocab_path(o.vocab));
  auto model = clip::ClipModel::load(o.weights);
  auto images = clip::H5File::open_read(o.input).read_float("images");
  auto text = model->encode_text(
      tokenizer.tokenize(prompts, model->config().context_length, /*truncate=*/true));
  auto image = batched(images, 16, [&](const torch::Tensor& x) { return model->encode_image(x); });
  auto probs = model->logits_per_image(image, text).softmax(-1).to(torch::kDouble);
  nlohmann::ordered_json j;
  j["classes"] = classes;
  j["prompts"] = prompts;
  j["probabilities"] = nlohmann::json::array();
  j["predictions"] = nlohmann::json::array();
  for (int64_t i = 0; i < probs.size(0); ++i) {
    std::vector<double> row(probs[i].data_ptr<double>(),
                            probs[i].data_ptr<double>() + probs.size(1));
    j["probabilities"].push_back(row);
    j["predictions"].push_back(classes[probs[i].argmax().item<int64_t>()]);
  }
  std::cout << j.dump(2) << std::endl;
  return kExitOk;
}

}  // namespace

void add_clip_commands(CLI::App& app, const GlobalOptions& global) {
  auto* clip = app.add_subcommand("clip", "frozen CLIP: encode, inspect, create weights");
  clip->require_subcommand(1);

  auto* encode = clip->add_subcommand("encode", "encode images/tokens from HDF5 into features");
  static EncodeOptions enc;
  encode
      ->add_option("--weights", enc.weights, "CLIP weights (safetensors, torch.save, TorchScript)")
      ->required()
      ->check(CLI::ExistingFile);
  encode
      ->add_option("--input", enc.input,
                   "HDF5 with images float32 [N,3,R,R] and/or tokens int64 [M,L]")
      ->required()
      ->check(CLI::ExistingFile);
  encode->add_option("--output", enc.output, "HDF5 to write (overwritten)")->required();
  encode->add_option("--batch", enc.batch, "rows per forward pass")->check(CLI::PositiveNumber);
  set_action(encode, [&global] {
    threads::configure(global.threads, 1);
    return run_encode(enc);
  });

  auto* info = clip->add_subcommand("info", "inferred architecture, parameter count, dtypes");
  static std::string info_weights;
  info->add_option("--weights", info_weights, "CLIP weights")->required()->check(CLI::ExistingFile);
  set_action(info, [] { return run_info(info_weights); });

  auto* init = clip->add_subcommand("init", "random CLIP weights with released shapes");
  static std::string init_arch = "tiny", init_out, init_dtype = "fp32";
  static uint64_t init_seed = 0;
  init->add_option("--arch", init_arch, "tiny | ViT-B/32 | ViT-B/16 | ViT-L/14 | ViT-L/14@336px");
  init->add_option("--seed", init_seed, "random seed");
  init->add_option("--out", init_out, "output .safetensors")->required();
  init->add_option("--dtype", init_dtype, "fp32 | fp16 (LayerNorms, embeddings stay fp32)");
  set_action(init, [&global] {
    threads::configure(global.threads, 1);
    return run_init(init_arch, init_seed, init_out, init_dtype);
  });

  auto* zs = clip->add_subcommand("zeroshot", "per-image class probabilities (JSON)");
  static ZeroshotOptions zo;
  zs->add_option("--weights", zo.weights, "CLIP weights")->required()->check(CLI::ExistingFile);
  zs->add_option("--classes", zo.classes, "comma-separated class names")->required();
  zs->add_option("--template", zo.templ, "prompt template with {} for the class name");
  zs->add_option("--input", zo.input, "HDF5 with images float32 [N,3,R,R]")
      ->required()
      ->check(CLI::ExistingFile);
  zs->add_option("--vocab", zo.vocab, "BPE vocabulary (default: the shipped file)");
  set_action(zs, [&global] {
    threads::configure(global.threads, 1);
    return run_zeroshot(zo);
  });

  add_clip_tokenize_command(clip, global);
}

}  // namespace hesp::cli
