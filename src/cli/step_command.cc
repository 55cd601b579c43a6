// `hesp step`: one forward and backward pass of the configured method on a given batch and
// given learnable tensors, through the trainer's own model and loss code (HespModel,
// hesp_loss), with every intermediate the reference fixture pins written to HDF5.
// The layout is that of ../shared/fixtures/hesp_step (tests/data/fixtures/hesp_step/README.md):
//   in:  /inputs/{frames [B,T,3,S,S] on [0,1], labels [B], box_centers [B,2], class_names [K]}
//        /params/{delta [3,s,s], contexts [K or 1,M,D], negative_images [K,3,S,S], radius []}
//        (clip_arpl: /params/{reciprocal_points [K,E], radius}; temporal = transformer: the
//        pooling layer's tensors under their model names, e.g. /params/temporal.fc1.weight)
//   out: /loss/<term>, the logits, the features, margin_distances, box_bounds and
//        /grad/<params name> (plus grad/delta_per_clip), float64 or float32.
// Sizes (K, B, T, S, s, M) come from the input and the weights; config fields that set them
// are overridden. Bad input throws ConfigError naming the dataset (exit 2).
#include <torch/torch.h>

#include <iostream>
#include <map>

#include "cli/app.h"
#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"
#include "clip/weights/h5_file.h"
#include "comm/communicator.h"
#include "config/config_loader.h"
#include "config/validate.h"
#include "losses/reciprocal_points.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "model/text_prompts.h"
#include "model/visual_prompt.h"
#include "util/errors.h"
#include "util/threads.h"

namespace hesp::cli {
namespace {

struct StepOptions {
  std::string weights, input, output, config, dtype = "float64";
  std::vector<std::string> overrides;
};

std::string shape_text(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// What /inputs and /params hold, checked for shape and consistency.
struct StepInput {
  torch::Tensor frames, labels, centers;        // [B,T,3,S,S] float32, [B] int64, [B,2] int64
  std::vector<std::string> class_names;         // [K]
  std::map<std::string, torch::Tensor> params;  // every /params dataset, by name
};

class InputReader {
 public:
  explicit InputReader(const std::string& path) : file_(clip::H5File::open_read(path)) {}

  // The dataset, which must exist and have these sizes (-1 = any).
  torch::Tensor tensor(const std::string& name, std::vector<int64_t> sizes, bool integer) const {
    if (!file_.has(name)) fail("lacks dataset " + name);
    auto t = integer ? file_.read_int64(name) : file_.read_float(name);
    bool ok = t.dim() == static_cast<int64_t>(sizes.size());
    for (size_t i = 0; ok && i < sizes.size(); ++i) {
      ok = sizes[i] < 0 || sizes[i] == t.size(static_cast<int64_t>(i));
    }
    if (!ok) {
      std::string want = "[";
      for (size_t i = 0; i < sizes.size(); ++i) {
        want += (i ? "," : "") + (sizes[i] < 0 ? std::string("*") : std::to_string(sizes[i]));
      }
      fail("dataset " + name + " has shape " + shape_text(t.sizes()) + ", expected " + want + "]");
    }
    return t;
  }
  torch::Tensor any_float(const std::string& name) const {
    if (!file_.has(name)) fail("lacks dataset " + name);
    return file_.read_float(name);
  }
  std::vector<std::string> strings(const std::string& name) const {
    if (!file_.has(name)) fail("lacks dataset " + name);
    return file_.read_strings(name);
  }
  bool has(const std::string& name) const { return file_.has(name); }
  [[noreturn]] void fail(const std::string& why) const {
    throw ConfigError("hesp step --input " + file_.path() + ": " + why);
  }

 private:
  clip::H5File file_;
};

// Phase 1: the batch. S must be the CLIP input resolution.
StepInput read_batch(const InputReader& in, int64_t image_size) {
  StepInput s;
  s.frames = in.tensor("/inputs/frames", {-1, -1, 3, image_size, image_size}, false);
  const int64_t B = s.frames.size(0);
  if (B < 1 || s.frames.size(1) < 1) in.fail("/inputs/frames holds no clip or no frame");
  s.labels = in.tensor("/inputs/labels", {B}, true);
  s.centers = in.tensor("/inputs/box_centers", {B, 2}, true);
  s.class_names = in.strings("/inputs/class_names");
  const int64_t K = static_cast<int64_t>(s.class_names.size());
  if (K < 2) in.fail("/inputs/class_names must name at least 2 classes");
  if (s.labels.lt(0).any().item<bool>() || s.labels.ge(K).any().item<bool>()) {
    in.fail("/inputs/labels must be in [0, " + std::to_string(K) + ") (K = /inputs/class_names)");
  }
  return s;
}

// The name a learnable tensor has under /params: the prompts' tensors by their own name
// (delta, contexts), the others by their model name (negative_images, radius, ...).
std::string params_name(const std::string& model_name) {
  for (const char* prefix : {"visual_prompt.", "text_prompts."}) {
    if (model_name.rfind(prefix, 0) == 0) return model_name.substr(std::string(prefix).size());
  }
  return model_name;
}

// Phase 2: the sizes the model is built with, from the input; the rest of `exp` stays.
void size_experiment_from_input(const InputReader& in, const StepInput& s, int64_t image_size,
                                config::Experiment* exp) {
  const int64_t K = static_cast<int64_t>(s.class_names.size());
  exp->mutable_data()->set_image_size(static_cast<int>(image_size));
  exp->mutable_data()->set_frames_per_clip(static_cast<int>(s.frames.size(1)));
  if (in.has("/params/delta")) {
    const auto d = in.tensor("/params/delta", {3, -1, -1}, false);
    if (d.size(1) != d.size(2) || d.size(1) > image_size) {
      in.fail("/params/delta must be [3,s,s] with s <= S = " + std::to_string(image_size) +
              ", got " + shape_text(d.sizes()));
    }
    exp->mutable_prompts()->mutable_visual()->set_size(static_cast<int>(d.size(1)));
  }
  if (in.has("/params/contexts")) {
    const auto c = in.tensor("/params/contexts", {-1, -1, -1}, false);
    if (c.size(0) != K && c.size(0) != 1) {
      in.fail("/params/contexts has " + std::to_string(c.size(0)) +
              " context sets but /inputs/class_names names " + std::to_string(K) +
              " classes (class-specific contexts need one set per class, shared ones 1)");
    }
    exp->mutable_prompts()->mutable_text()->set_class_specific(c.size(0) == K && K != 1);
    exp->mutable_prompts()->mutable_text()->set_num_contexts(static_cast<int>(c.size(1)));
  }
}

// Phase 3: the learnable tensors take the values of /params (each must exist, same numel).
void load_params(const InputReader& in, const model::HespModelImpl& model,
                 std::map<std::string, std::vector<int64_t>>* shapes) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : model.learnable()) {
    const std::string p = params_name(name);
    if (!in.has("/params/" + p)) {
      in.fail("lacks dataset /params/" + p + " (the learnable tensor " + name + " of method " +
              config::Method_Name(model.method()) + ")");
    }
    const auto v = in.any_float("/params/" + p);
    // R is a scalar; the model holds it as [1].
    if (!v.sizes().equals(t.sizes()) && !(v.numel() == 1 && t.numel() == 1)) {
      in.fail("dataset /params/" + p + " has shape " + shape_text(v.sizes()) + ", expected " +
              shape_text(t.sizes()));
    }
    t.copy_(v.reshape(t.sizes()));
    (*shapes)[p] = v.sizes().vec();
  }
}

// One step, written to options.output. Returns the exit code.
int run_step(const StepOptions& o) {
  if (o.dtype != "float64" && o.dtype != "float32") {
    throw ConfigError("--dtype must be float64 or float32, got " + o.dtype);
  }
  const auto dtype = o.dtype == "float64" ? torch::kDouble : torch::kFloat;
  config::Experiment exp;
  if (!o.config.empty()) {
    exp = config::load_experiment(o.config, o.overrides);
  } else {
    for (const auto& s : o.overrides) config::apply_override(s, &exp);
  }
  const config::MethodTraits& traits = config::method_traits(exp.method());
  if (!traits.trains) {
    throw ConfigError("hesp step: method " + config::Method_Name(exp.method()) +
                      " has nothing to train (no step)");
  }
  exp.mutable_model()->set_clip_weights(o.weights);
  auto clip = clip::ClipModel::load(o.weights);
  const int64_t S = clip->config().image_resolution;
  const InputReader in(o.input);
  StepInput input = read_batch(in, S);
  size_experiment_from_input(in, input, S, &exp);
  config::validate_or_throw(exp, "hesp step's config");

  // The frozen CLIP in the step's precision before the model encodes its fixed texts.
  clip->to(dtype);
  const clip::Tokenizer tokenizer(clip::resolve_vocab_path(exp.model().vocab()));
  model::HespModel model(traits, exp.model(), exp.prompts(), exp.data(), exp.losses(), clip,
                         tokenizer, input.class_names);
  model->to(dtype);
  std::map<std::string, std::vector<int64_t>> param_shapes;
  load_params(in, *model, &param_shapes);

  // The step: the trainer's forward, loss and backward (src/train/trainer.cc).
  comm::SingleCommunicator single;
  const auto frames = input.frames.to(dtype);
  const auto labels = input.labels;
  model::Outputs out = model->forward(frames, input.centers);
  if (out.delta_per_clip.defined()) out.delta_per_clip.retain_grad();
  const model::LossBreakdown loss = model::hesp_loss(exp, *model, out, labels, single);
  loss.total.backward();

  // The results, under the fixture's /expected names.
  auto file = clip::H5File::create(o.output);
  auto write = [&](const std::string& name, const torch::Tensor& t) {
    if (t.defined()) file.write(name, t.detach().to(dtype));
  };
  auto scalar = [&](const std::string& name, double v) {
    write(name, torch::tensor(v, torch::TensorOptions().dtype(torch::kDouble)));
  };
  for (const auto& [term, value] : loss.unweighted) {
    scalar("loss/" + (term == "margin" ? std::string("margin_raw") : term), value);
  }
  if (loss.terms.count("margin")) scalar("loss/margin_weighted", loss.terms.at("margin"));
  if (loss.terms.count("negative_ce")) {
    // The reference ARPL criterion's own loss: CE(l / T_a) + the weighted margin.
    scalar("loss/arpl", loss.terms.at("negative_ce") +
                            (loss.terms.count("margin") ? loss.terms.at("margin") : 0.0));
  }
  scalar("loss/total", loss.total.item<double>());
  write("known_logits", out.known_logits);
  write("negative_logits", out.negative_logits);
  write("combined_logits", out.combined_logits);
  write("frame_features", out.frame_features);
  write("video_features", out.video_features);
  write("text_features", out.text_features);
  write("negative_image_features", out.negative_image_features);
  write("negative_text_features", model->negative_text_features());
  torch::Tensor points = out.negative_image_features;  // clip_arpl: the reciprocal points
  const auto named = model->named_parameters();
  if (const auto* rp = named.find("reciprocal_points"); !points.defined() && rp != nullptr) {
    points = *rp;
  }
  if (points.defined()) {
    write("margin_distances", losses::mean_squared_distance(out.video_features, points)
                                  .gather(1, labels.view({-1, 1}))
                                  .view({-1}));
  }
  if (model->uses_visual_prompt()) {
    const int64_t B = input.frames.size(0), s = exp.prompts().visual().size();
    auto bounds = torch::empty({B, 4}, torch::kLong);
    for (int64_t b = 0; b < B; ++b) {
      const auto [top, left] = model::box_top_left(input.centers[b][0].item<int64_t>(),
                                                   input.centers[b][1].item<int64_t>(), s, S);
      bounds[b][0] = top;
      bounds[b][1] = top + s;
      bounds[b][2] = left;
      bounds[b][3] = left + s;
    }
    file.write("box_bounds", bounds);
    write("grad/delta_per_clip", out.delta_per_clip.grad());
  }
  if (model->prompt_token_ids().defined()) {
    file.write("tokens/prompt_ids", model->prompt_token_ids());
    file.write("tokens/eot_index", model->prompt_eot_index());
  }
  if (model->negative_text_features().defined()) {
    const auto ids = model::template_tokens(tokenizer, exp.prompts().negative().text_template(),
                                            input.class_names, clip->config().context_length);
    file.write("tokens/negative_ids", ids);
    file.write("tokens/negative_eot_index", std::get<1>(ids.max(1)));
  }
  for (const auto& [name, t] : model->learnable()) {
    const std::string p = params_name(name);
    const auto g = t.grad().defined() ? t.grad() : torch::zeros_like(t);
    write("grad/" + p, g.reshape(param_shapes.at(p)));
  }
  std::cout << "hesp step: " << config::Method_Name(exp.method()) << ", B=" << frames.size(0)
            << " T=" << frames.size(1) << " K=" << input.class_names.size() << " S=" << S
            << ", total loss " << loss.total.item<double>() << " -> " << o.output << std::endl;
  return kExitOk;
}

}  // namespace

void add_step_commands(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<StepOptions>();
  auto* step = app.add_subcommand(
      "step",
      "one forward + backward of the configured method on a given batch and learnable "
      "tensors (HDF5 in, HDF5 out; the layout of the hesp_step fixture, docs/method.md)");
  step->add_option("--weights", o->weights, "CLIP weights")->required()->check(CLI::ExistingFile);
  step->add_option("--input", o->input, "HDF5 with /inputs and /params")
      ->required()
      ->check(CLI::ExistingFile);
  step->add_option("--output", o->output, "HDF5 to write (truncated)")->required();
  step->add_option("--config", o->config, "experiment config (.pbtxt; default: spec defaults)");
  step->add_option("--set", o->overrides, "override path.to.field=value (repeatable)");
  step->add_option("--dtype", o->dtype, "float64 (default) or float32")->capture_default_str();
  set_action(step, [o, &global] {
    threads::configure(global.threads, 1);
    return run_step(*o);
  });
}

}  // namespace hesp::cli
