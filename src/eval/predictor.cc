#include "eval/predictor.h"

#include <glog/logging.h>

#include <sstream>

#include "checkpoint/checkpoint_store.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"
#include "config/config_loader.h"
#include "config/method_traits.h"
#include "data/format/manifest_io.h"
#include "data/loader/clip_transform.h"
#include "eval/evaluator.h"
#include "metrics/open_set.h"
#include "model/visual_prompt.h"
#include "optim/lr_schedule.h"
#include "run/run_directory.h"
#include "run/run_identity.h"
#include "run/run_result.h"
#include "util/errors.h"
#include "util/torch_compat.h"

namespace hesp::eval {
namespace {

namespace stdfs = std::filesystem;

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// What result.json says about the weights the run trained with (empty for runs of an
// older hesp, which did not record them).
struct TrainedWeights {
  std::string path;
  std::string sha256;
};

// <run>/result.json: the known classes (label order), the stored threshold t and the
// weights the run trained with.
void read_result(const stdfs::path& run_dir, std::vector<std::string>* known, double* threshold,
                 TrainedWeights* weights) {
  const auto path = run::RunDirectory(run_dir).result();
  if (!stdfs::exists(path)) {
    throw UserError("run " + run_dir.string() +
                    " has not finished training (no result.json): nothing to predict with");
  }
  const run::RunResult r = run::read_run_result(path);
  if (!r.metrics.at_threshold) {
    throw UserError(path.string() + ": not a result of `hesp train` (metrics has no 'threshold')");
  }
  *known = r.known_classes;
  *threshold = r.metrics.at_threshold->threshold;
  weights->path = r.clip_weights;
  weights->sha256 = r.clip_weights_sha256;
}

// The run's checkpoint: the chosen file, or the newest one, which must be the last
// epoch's. Returns nullopt for runs that train nothing (config::MethodTraits::trains).
std::optional<checkpoint::LoadedCheckpoint> finished_checkpoint(const config::Experiment& exp,
                                                                const PredictorOptions& o,
                                                                bool trainable) {
  const std::string hash = config::config_hash(exp);
  // The same config, or the same but for where its data and weights were (run_identity.h).
  const auto same_run = [&](const checkpoint::CheckpointState& s) {
    return s.config_hash == hash ||
           run::config_identity_of_text(s.config_text) == run::config_identity(exp);
  };
  if (!o.checkpoint.empty()) {
    auto f = checkpoint::read_checkpoint_file(o.checkpoint);
    if (!same_run(f.state)) {
      throw UserError("checkpoint " + o.checkpoint.string() +
                      " belongs to another config than run " + o.run_dir.string());
    }
    return checkpoint::LoadedCheckpoint{f.path, std::move(f.state)};
  }
  if (!trainable) return std::nullopt;
  const int total = optim::LrSchedule::from_config(exp.schedule(), exp.optim().lr()).total_epochs();
  checkpoint::CheckpointStore store(o.run_dir, 0);
  auto ckpt = store.latest_valid();
  if (!ckpt) throw UserError("run " + o.run_dir.string() + " has no readable checkpoint");
  if (ckpt->state.epoch != total || ckpt->state.step != 0) {
    throw UserError("run " + o.run_dir.string() + " has no finished checkpoint (newest: " +
                    ckpt->path.filename().string() + ", epoch " +
                    std::to_string(ckpt->state.epoch) + " of " + std::to_string(total) + ")");
  }
  if (!same_run(ckpt->state)) {
    throw UserError("checkpoint " + ckpt->path.string() + " belongs to another config than run " +
                    run::RunDirectory(o.run_dir).config().string());
  }
  return ckpt;
}

data::PackParams run_pack_params(const config::Experiment& exp) {
  CHECK_GT(exp.data().manifests_size(), 0);
  const stdfs::path m(exp.data().manifests(0));
  try {
    return data::read_manifest(stdfs::is_directory(m) ? m / "manifest.pbtxt" : m).params();
  } catch (const UserError& e) {
    LOG(WARNING) << "cannot read the run's manifest (" << e.what()
                 << "): new clips are packed with the default parameters and the run's T and S";
    data::PackParams p;
    p.set_frames_per_clip(exp.data().frames_per_clip());
    p.set_size(exp.data().image_size());
    return p;
  }
}

torch::Device choose_device(const config::Experiment& exp, const PredictorOptions& o) {
  const bool cuda =
      o.device.empty() ? exp.train().device() == config::TrainConfig::cuda : o.device == "cuda";
  if (!o.device.empty() && o.device != "cpu" && o.device != "cuda") {
    throw ConfigError("--device must be cpu or cuda (got '" + o.device + "')");
  }
  if (!cuda) return torch::kCPU;
  const int devices = compat::cuda_device_count();
  if (devices == 0) {
    throw ConfigError("CUDA asked for (" +
                      std::string(o.device.empty() ? "the run's train.device" : "--device") +
                      ") but this build or machine has no CUDA device");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(o.local_rank % devices));
}

}  // namespace

Predictor::Predictor(const PredictorOptions& o) {
  // --- the run: config, classes, threshold, checkpoint ---
  const auto config_path = run::RunDirectory(o.run_dir).config();
  if (!stdfs::exists(config_path)) {
    throw UserError("run " + o.run_dir.string() + " has no config.pbtxt: not a run directory");
  }
  exp_ = config::load_experiment(config_path);
  TrainedWeights trained;
  read_result(o.run_dir, &known_, &threshold_, &trained);
  const config::MethodTraits& traits = config::method_traits(exp_.method());
  const auto ckpt = finished_checkpoint(exp_, o, traits.trains);
  if (ckpt) checkpoint_ = ckpt->path;
  pack_params_ = run_pack_params(exp_);
  if (!o.weights.empty()) exp_.mutable_model()->set_clip_weights(o.weights);
  const std::string weights = exp_.model().clip_weights();
  // --- the model: CLIP, prompts, the checkpoint's tensors ---
  clip_ = clip::ClipModel::load(weights);
  if (clip_->config().image_resolution != exp_.data().image_size()) {
    throw UserError("weights " + weights + " do not match run " + o.run_dir.string() +
                    ": input resolution " + std::to_string(clip_->config().image_resolution) +
                    ", the run used " + std::to_string(exp_.data().image_size()));
  }
  const clip::Tokenizer tokenizer(clip::resolve_vocab_path(exp_.model().vocab()));
  torch::manual_seed(exp_.train().seed());
  model_ = std::make_unique<model::HespModel>(traits, exp_.model(), exp_.prompts(), exp_.data(),
                                              exp_.losses(), clip_, tokenizer, known_);
  if (ckpt) {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : (*model_)->learnable()) {
      auto it = ckpt->state.tensors.find("param/" + name);
      if (it == ckpt->state.tensors.end()) {
        throw UserError(ckpt->path.string() + ": checkpoint lacks tensor param/" + name);
      }
      if (!it->second.sizes().equals(t.sizes())) {
        throw UserError("weights " + weights + " do not match run " + o.run_dir.string() +
                        ": param/" + name + " is " + shape_of(t) + " with them, " +
                        shape_of(it->second) + " in " + ckpt->path.filename().string());
      }
      t.copy_(it->second);
    }
    auto cam = ckpt->state.blobs.find("cam_cache");
    if (cam != ckpt->state.blobs.end()) {
      cache_ = model::CamCache::parse(cam->second, ckpt->path.string() + " (cam_cache)");
    }
  }
  if ((*model_)->uses_visual_prompt() &&
      exp_.prompts().visual().box() == config::VisualPromptConfig::cam_once &&
      !cache_.contains("__run__")) {
    throw UserError("run " + o.run_dir.string() + " (box cam_once) has no stored box");
  }
  // --- the weights' identity: the bytes the run trained with, wherever they are now
  // (checked last, so that weights that are not CLIP's or not of the run's architecture
  // get the loader's or the shapes' message) ---
  if (trained.sha256.empty()) {
    LOG(WARNING) << "run " << o.run_dir.string()
                 << " did not record the hash of its CLIP weights (older hesp): " << weights
                 << " cannot be checked against them";
  } else if (const std::string sha = run::weights_sha256(weights); sha != trained.sha256) {
    const std::string what = "CLIP weights " + weights + " (sha256 " + sha +
                             ") are not the ones run " + o.run_dir.string() + " trained with (" +
                             trained.path + ", sha256 " + trained.sha256 + ")";
    if (!o.force_weights) {
      throw UserError(what +
                      ": its prompts were learned on other features. Give the run's weights, "
                      "or --force-weights to use these anyway");
    }
    LOG(WARNING) << what << "; used anyway (--force-weights)";
  }
  const torch::Device device = choose_device(exp_, o);
  clip_->to(device);
  (*model_)->to(device);
  (*model_)->eval();
}

Predictor::~Predictor() = default;

std::vector<ClipPrediction> Predictor::predict(const torch::Tensor& frames) const {
  const auto& model = **model_;
  const int64_t B = frames.size(0), S = exp_.data().image_size();
  CHECK_EQ(frames.dim(), 5);
  CHECK_EQ(frames.size(1), exp_.data().frames_per_clip());
  CHECK_EQ(frames.size(3), S);
  const auto input = frames.to(model.device());
  // --- the visual prompt's box (as train/cam_boxes.cc, but on the fly) ---
  auto centers = torch::full({B, 2}, S / 2, torch::kLong);
  const auto box = exp_.prompts().visual().box();
  if (model.uses_visual_prompt() && box == config::VisualPromptConfig::cam_per_video) {
    using torch::indexing::Slice;
    const auto first = input.index({Slice(), 0}).contiguous();
    centers =
        model::grad_cam(model.clip(), first, model.cam_text_features()).centers.to(torch::kCPU);
  } else if (model.uses_visual_prompt() && box == config::VisualPromptConfig::cam_once) {
    const auto c = cache_.at("__run__");
    centers.select(1, 0).fill_(c.first);
    centers.select(1, 1).fill_(c.second);
  }
  // --- forward, scores (as train/evaluator.cc) ---
  torch::NoGradGuard no_grad;
  const auto kind = score_kind(exp_.eval(), model.traits());
  model::Outputs out;
  {
    compat::CudaBf16Autocast autocast(model.device().is_cuda() && exp_.train().bf16_autocast());
    out = model.forward(input, centers);
  }
  const bool msp = kind == metrics::ScoreKind::kMsp;
  const auto logits =
      (msp ? out.combined_log_probs : out.combined_logits).to(torch::kCPU, torch::kFloat64);
  const auto probs = out.combined_log_probs.to(torch::kCPU, torch::kFloat64).exp().contiguous();
  const auto rows = metrics::score_rows(logits, kind);
  std::vector<ClipPrediction> result(static_cast<size_t>(B));
  const int64_t K = probs.size(1);
  const int64_t side = exp_.prompts().visual().size();
  for (int64_t b = 0; b < B; ++b) {
    auto& p = result[static_cast<size_t>(b)];
    p.class_index = rows.predictions[static_cast<size_t>(b)];
    p.score = rows.scores[static_cast<size_t>(b)];
    p.unknown = p.score < threshold_;
    const double* row = probs.data_ptr<double>() + b * K;
    p.probabilities.assign(row, row + K);
    if (model.uses_visual_prompt() && box == config::VisualPromptConfig::padding) {
      p.padding_width = side;
    } else if (model.uses_visual_prompt()) {
      const auto [top, left] = model::box_top_left(centers[b][0].item<int64_t>(),
                                                   centers[b][1].item<int64_t>(), side, S);
      p.box_top = top;
      p.box_left = left;
      p.box_size = side;
    }
  }
  return result;
}

torch::Tensor evaluation_view(const std::vector<uint8_t>& rgb, int stored_frames, int size,
                              int frames, int image_size) {
  CHECK_EQ(rgb.size(), static_cast<size_t>(stored_frames) * size * size * 3);
  data::TransformOptions t;
  t.frames = frames;
  t.size = image_size;
  t.training = false;
  const auto plan = data::plan_clip(t, stored_frames, size, size, 0, 0);
  auto out = torch::empty({frames, 3, image_size, image_size});
  const size_t frame_bytes = static_cast<size_t>(size) * size * 3;
  const int64_t plane = int64_t{3} * image_size * image_size;
  for (int k = 0; k < frames; ++k) {
    data::render_frame(rgb.data() + frame_bytes * static_cast<size_t>(plan.frames[k]), size, size,
                       plan.box, plan.flip, image_size, out.data_ptr<float>() + k * plane);
  }
  return out;
}

}  // namespace hesp::eval
