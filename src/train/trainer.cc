#include "train/trainer.h"

#include <glog/logging.h>

#include <chrono>
#include <fstream>

#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"
#include "config/config_loader.h"
#include "config/validate.h"
#include "data/loader/loader.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "train/cam_boxes.h"
#include "train/checkpoint_resume.h"
#include "train/checkpoint_store.h"
#include "train/evaluator.h"
#include "train/gradient_allreduce.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/placement.h"
#include "train/preemption.h"
#include "train/run_data.h"
#include "train/sgd.h"
#include "train/tfevents_writer.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/logging.h"
#include "util/resources.h"
#include "util/threads.h"
#include "util/torch_compat.h"

namespace hesp::train {
namespace {

namespace stdfs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Everything that changes while training and must survive a restart.
CheckpointState make_state(const std::string& config_hash, const std::string& config_text,
                           const std::string& fingerprint, const data::SamplerState& position,
                           const model::HespModelImpl& model, const Sgd& sgd,
                           const model::CamCache& cache) {
  CheckpointState s;
  s.epoch = position.epoch;
  s.step = position.step;
  s.schedule_position = position.epoch;
  s.sampler_position = position.step;
  s.config_hash = config_hash;
  s.config_text = config_text;
  s.manifest_fingerprint = fingerprint;
  for (const auto& [name, t] : model.learnable()) s.tensors["param/" + name] = t.detach();
  for (const auto& [name, t] : sgd.state()) s.tensors["sgd/" + name] = t;
  s.tensors["rng/torch_cpu"] = compat::cpu_generator_state(at::detail::getDefaultCPUGenerator());
  s.blobs["cam_cache"] = cache.serialize();
  return s;
}

void restore_state(const CheckpointState& s, const std::string& path, model::HespModelImpl& model,
                   Sgd& sgd, model::CamCache* cache) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : model.learnable()) {
    auto it = s.tensors.find("param/" + name);
    if (it == s.tensors.end()) throw UserError(path + ": checkpoint lacks tensor param/" + name);
    if (!it->second.sizes().equals(t.sizes())) {
      throw UserError(path + ": checkpoint tensor param/" + name + " has the wrong shape");
    }
    t.copy_(it->second);
  }
  std::map<std::string, torch::Tensor> buffers;
  for (const auto& [name, t] : s.tensors) {
    if (name.rfind("sgd/", 0) == 0) buffers[name.substr(4)] = t;
  }
  sgd.load_state(buffers);
  auto rng = s.tensors.find("rng/torch_cpu");
  if (rng != s.tensors.end()) {
    auto gen = at::detail::getDefaultCPUGenerator();
    compat::set_cpu_generator_state(gen, rng->second);
  }
  auto cam = s.blobs.find("cam_cache");
  if (cam != s.blobs.end()) *cache = model::CamCache::parse(cam->second, path + " (cam_cache)");
}

std::shared_ptr<clip::ClipModel> load_clip(const config::Experiment& exp) {
  if (exp.model().clip_weights().empty()) {
    throw ConfigError(
        "model.clip_weights is empty: give CLIP weights (OpenAI .pt, safetensors or a "
        "torch.save state dict; `hesp clip init` makes random ones for tests)");
  }
  auto clip = clip::ClipModel::load(exp.model().clip_weights());
  if (clip->config().image_resolution != exp.data().image_size()) {
    throw ConfigError("data.image_size must equal the CLIP input resolution " +
                      std::to_string(clip->config().image_resolution) + " of " +
                      exp.model().clip_weights() + " (got " +
                      std::to_string(exp.data().image_size()) + ")");
  }
  return clip;
}

data::LoaderOptions train_loader_options(const config::Experiment& exp) {
  data::LoaderOptions lo;
  lo.transform.frames = exp.data().frames_per_clip();
  lo.transform.size = exp.data().image_size();
  lo.transform.training = true;
  lo.transform.min_area = exp.data().crop_min_area();
  lo.transform.max_area = exp.data().crop_max_area();
  lo.transform.flip_probability = exp.data().flip_probability();
  lo.transform.seed = exp.train().seed();
  lo.threads = exp.data().loader_threads();
  lo.prefetch_batches = exp.data().prefetch_batches();
  return lo;
}

// The optional normalised-gradient step of spec §8: x <- x - eta * g / |g| per image
// (each negative image and delta by its own norm; the reference's averaging over the K
// images is a defect not copied). delta lives on [0, 1] pixels, so eta applies as is; the
// negative images live in CLIP-normalised space, where one pixel unit is 1/std.
void normalized_gradient_step(const model::HespModelImpl& model, double eta) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.pixel_space_parameters()) {
    if (!p.grad().defined()) continue;
    const auto g = p.grad();
    if (p.dim() == 3) {
      p.sub_(eta * g / g.norm().clamp_min(1e-12));
    } else {
      const auto norms = g.flatten(1).norm(2, 1).clamp_min(1e-12).view({-1, 1, 1, 1});
      p.sub_(eta * g / norms);
    }
  }
}

}  // namespace

int run_training(const config::Experiment& exp, const TrainOptions& options,
                 comm::Communicator& world) {
  // The CLI validated the file already; callers that build an Experiment in code (the
  // sweep, tests) get the same checks, e.g. train.bf16_autocast only with train.device cuda.
  config::validate_or_throw(exp, "the run's config");
  const Placement placement = place_rank(exp, world);
  comm::Communicator& comm = *placement.comm;
  const torch::Device device = placement.device;
  // --- run directory, logs, threads, effective config ---
  std::string ok = "ok";
  if (comm.is_root()) {
    try {
      fs::ensure_writable_directory(options.run_dir);
      fs::ensure_writable_directory(options.run_dir / "checkpoints");
    } catch (const UserError& e) {
      ok = e.what();
    }
  }
  ok = comm.broadcast_string(ok, 0);
  if (ok != "ok") throw UserError(ok);
  logging::configure_for_rank(comm.rank(), options.log_all_ranks, options.run_dir);
  const int threads = threads::configure(options.threads, comm.local_size());
  comm.set_stall_timeouts(exp.distributed().stall_timeout_s(), exp.distributed().stall_abort_s());
  const std::string config_text = config::to_text(exp);
  const std::string config_hash = config::config_hash(exp);
  if (comm.is_root()) config::write_effective_config(exp, options.run_dir);
  LOG(INFO) << "run " << options.run_dir.string() << " (" << exp.name() << "): method "
            << config::Method_Name(exp.method()) << ", " << comm.size() << " rank(s) x " << threads
            << " thread(s), backend " << comm.backend();

  const int64_t global_batch = exp.train().global_batch_size();
  if (global_batch % comm.size() != 0) {
    throw ConfigError("train.global_batch_size must be divisible by the number of ranks " +
                      std::to_string(comm.size()) + " (got " + std::to_string(global_batch) + ")");
  }

  // --- data, model ---
  RunData data = open_run_data(exp);
  torch::manual_seed(exp.train().seed());  // Same initial prompts on every rank...
  auto clip = load_clip(exp);
  const clip::Tokenizer tokenizer(clip::resolve_vocab_path(exp.model().vocab()));
  model::HespModel model(exp, clip, tokenizer, data.classes.known);
  // Built on the CPU (same random draws on every device), then moved; `to` keeps the
  // parameter objects, so `learnable` below refers to the tensors on the device.
  clip->to(device);
  model->to(device);
  const auto learnable = model->learnable();
  check_same_shapes(comm, learnable);
  {
    std::vector<torch::Tensor> tensors;
    for (const auto& [n, t] : learnable) tensors.push_back(t);
    broadcast_parameters(comm, tensors);  // ...and identical for certain.
  }
  Sgd sgd(learnable, exp.optim().momentum(), exp.optim().weight_decay());
  const LrSchedule schedule = LrSchedule::from_config(exp.schedule(), exp.optim().lr());
  const int total_epochs = model->trainable() ? schedule.total_epochs() : 0;

  // --- resume ---
  CheckpointStore store(options.run_dir, exp.checkpoint().keep_last());
  ResumeRequest request;
  request.config_hash = config_hash;
  request.manifest_fingerprint = data.manifest_fingerprint;
  request.config_text = config_text;
  request.force = options.force;
  model::CamCache cache;
  const stdfs::path cam_path = options.run_dir / "cam_cache.tsv";
  data::SamplerState position{0, 0};
  ModelSelector selector(exp, data.validation.get());
  if (auto ckpt = resolve_resume(comm, store, request)) {
    restore_state(ckpt->state, ckpt->path.string(), *model, sgd, &cache);
    selector.restore(ckpt->state, ckpt->path.string());
    position = {ckpt->state.epoch, ckpt->state.step};
    LOG(INFO) << "resumed from " << ckpt->path.string() << " at epoch " << position.epoch
              << " step " << position.step;
  } else if (stdfs::exists(cam_path)) {
    cache = model::CamCache::load(cam_path.string());
  }
  std::vector<const data::Dataset*> box_sets{data.train.get(), data.test.get()};
  if (data.validation) box_sets.push_back(data.validation.get());
  compute_missing_boxes(exp, *model, box_sets, comm, &cache);
  if (comm.is_root() && model->uses_visual_prompt()) cache.save(cam_path.string());

  // --- training ---
  data::SamplerOptions so;
  so.num_clips = data.train->size();
  so.rank = comm.rank();
  so.world_size = comm.size();
  so.batch_size = global_batch / comm.size();
  so.training = true;
  so.seed = exp.train().seed();
  const data::DistributedSampler sampler(so);
  int64_t steps_per_epoch = sampler.steps_per_epoch();
  if (exp.train().max_steps_per_epoch() > 0) {
    steps_per_epoch = std::min<int64_t>(steps_per_epoch, exp.train().max_steps_per_epoch());
  }
  if (total_epochs > 0 && steps_per_epoch == 0) {
    throw UserError("the training set (" + std::to_string(data.train->size()) +
                    " clips) is smaller than one global batch of " + std::to_string(global_batch));
  }
  std::unique_ptr<MetricsLog> metrics_log;
  std::unique_ptr<TfEventsWriter> tb;
  if (comm.is_root()) {
    metrics_log = std::make_unique<MetricsLog>(options.run_dir / "metrics.jsonl");
    if (exp.logging().tensorboard()) tb = std::make_unique<TfEventsWriter>(options.run_dir / "tb");
  }
  PreemptionGuard guard(options.run_dir);
  data::Loader loader(*data.train, sampler, train_loader_options(exp));
  const int64_t cap_bytes = int64_t{exp.distributed().bucket_size_mb()} << 20;
  // Gradient averaging overlapped with backward: a hook per learnable tensor fills its
  // bucket, and a full bucket's all-reduce starts (non-blocking) while backward goes on.
  // Listed last-registered first, roughly the order backward produces the gradients.
  std::unique_ptr<GradientAllReducer> reducer;
  if (total_epochs > 0) {
    std::vector<torch::Tensor> params;
    for (auto it = learnable.rbegin(); it != learnable.rend(); ++it) params.push_back(it->second);
    reducer = std::make_unique<GradientAllReducer>(comm, params, cap_bytes);
    reducer->enable_hooks();
  }
  const double run_start = now_s();
  ProgressFormatter progress(total_epochs * steps_per_epoch,
                             position.epoch * steps_per_epoch + position.step, run_start);
  auto save = [&](const data::SamplerState& at) {
    auto state =
        make_state(config_hash, config_text, data.manifest_fingerprint, at, *model, sgd, cache);
    selector.save(&state);
    store.save_on_root(comm, state);
  };
  int epochs_this_run = 0;
  for (int64_t epoch = position.epoch; epoch < total_epochs; ++epoch) {
    sgd.set_lr(schedule.lr(static_cast<int>(epoch)));
    loader.start({epoch, epoch == position.epoch ? position.step : 0});
    std::map<std::string, double> sums;
    int64_t steps_done = 0;
    double data_wait = 0, allreduce_time = 0, step_time = 0;  // This rank, this epoch.
    for (int64_t step = epoch == position.epoch ? position.step : 0; step < steps_per_epoch;
         ++step) {
      const double t0 = now_s();
      auto batch = loader.next();
      CHECK(batch) << "sampler ended before steps_per_epoch";
      const double t1 = now_s();
      const auto centers = model->uses_visual_prompt()
                               ? batch_centers(exp, cache, batch->clip_ids)
                               : torch::zeros({batch->frames.size(0), 2}, torch::kLong);
      const auto frames = batch->frames.to(device, /*non_blocking=*/true);
      const auto labels = batch->labels.to(device, /*non_blocking=*/true);
      model::LossBreakdown loss;
      {
        compat::CudaBf16Autocast autocast(placement.bf16_autocast);
        const auto out = model->forward(frames, centers);
        loss = model::hesp_loss(exp, *model, out, labels, comm);
      }
      sgd.zero_grad();
      loss.total.backward();
      const double t2 = now_s();
      // The all-reduce time that backward did not hide: buckets still in flight, and those
      // of tensors that got no gradient (zeros, so that every rank runs the same collectives).
      reducer->finish();
      const double t3 = now_s();
      sgd.step();
      if (exp.optim().normalized_step()) {
        normalized_gradient_step(*model, exp.optim().normalized_step_size());
      }
      data_wait += t1 - t0;
      allreduce_time += t3 - t2;
      step_time += now_s() - t0;
      sums["loss"] += loss.total.item<double>();
      for (const auto& [k, v] : loss.terms) sums["loss/" + k] += v;
      ++steps_done;
      const data::SamplerState next{epoch, step + 1};
      const int64_t global_step = epoch * steps_per_epoch + step + 1;
      if (global_step % exp.logging().log_every_steps() == 0 && comm.is_root()) {
        LOG(INFO) << progress.format(static_cast<int>(epoch + 1), total_epochs, step + 1,
                                     steps_per_epoch, global_step, now_s(),
                                     {{"loss", loss.total.item<double>()}, {"lr", sgd.lr()}});
      }
      const StepAction action = guard.poll(comm);  // One all-reduce: every rank agrees.
      if (action != StepAction::kNone) {
        save(step + 1 == steps_per_epoch ? data::SamplerState{epoch + 1, 0} : next);
        if (action == StepAction::kCheckpointAndStop) {
          LOG(WARNING) << "stopping after a preemption signal; exit code " << kExitPreempted;
          return kExitPreempted;
        }
      }
    }
    // Per-epoch means over ranks (each rank's mean of its steps, then the mean of those).
    nlohmann::json record = {{"epoch", epoch + 1}, {"lr", sgd.lr()}};
    for (auto& [k, v] : sums) {
      const double mean =
          comm.all_reduce_double(v / std::max<int64_t>(1, steps_done), comm::ReduceOp::kSum) /
          comm.size();
      record[k] = mean;
    }
    // Throughput and its overheads, as rank 0 saw them: the all-reduce time includes
    // waiting for the slowest rank, so imbalance shows up there. RSS is the largest rank's.
    record["data_wait_fraction"] = step_time > 0 ? data_wait / step_time : 0.0;
    record["allreduce_fraction"] = step_time > 0 ? allreduce_time / step_time : 0.0;
    record["step_s"] = steps_done > 0 ? step_time / static_cast<double>(steps_done) : 0.0;
    record["samples_per_s"] =
        step_time > 0 ? static_cast<double>(global_batch * steps_done) / step_time : 0.0;
    record["peak_rss_mib"] =
        comm.all_reduce_double(resources::peak_rss_mib(), comm::ReduceOp::kMax);
    const bool last = epoch + 1 == total_epochs;
    if (!last && (epoch + 1) % exp.eval().every_epochs() == 0) {
      const auto test = predict(exp, *model, *data.test, cache, comm);
      const auto r = evaluate(exp, test, std::nullopt);
      record["test"] = to_json(r);
    }
    if (selector.evaluates(epoch + 1, total_epochs)) {
      record["validation"] = selector.evaluate_epoch(epoch + 1, *model, cache, comm);
    }
    if (comm.is_root()) {
      metrics_log->append(record);
      if (tb) {
        std::vector<std::pair<std::string, double>> scalars;
        for (auto& [k, v] : record.items()) {
          if (v.is_number()) scalars.emplace_back("train/" + k, v.get<double>());
        }
        if (record.contains("test")) {
          scalars.emplace_back("test/auroc", record["test"]["auroc"].get<double>());
          scalars.emplace_back("test/oscr", record["test"]["oscr"].get<double>());
        }
        if (record.contains("validation")) {
          scalars.emplace_back("validation/closed_set_accuracy",
                               record["validation"]["closed_set_accuracy"].get<double>());
        }
        tb->add_scalars(scalars, epoch + 1);
      }
      LOG(INFO) << "epoch " << epoch + 1 << "/" << total_epochs << " " << record.dump();
    }
    ++epochs_this_run;
    if (last || (epoch + 1) % exp.checkpoint().every_epochs() == 0) save({epoch + 1, 0});
    if (!last && options.max_epochs_this_run > 0 &&
        epochs_this_run >= options.max_epochs_this_run) {
      save({epoch + 1, 0});
      LOG(WARNING) << "stopping after " << epochs_this_run << " epoch(s) (--max-epochs-this-run)";
      return kExitPreempted;
    }
  }

  // --- model selection, final evaluation, threshold from the training clips, result.json ---
  const nlohmann::json selection = selector.choose(*model, total_epochs);
  const auto test = predict(exp, *model, *data.test, cache, comm);
  const auto train_pred = predict(exp, *model, *data.train, cache, comm);
  const auto result = evaluate(exp, test, scores_of(exp, train_pred));
  if (comm.is_root()) {
    nlohmann::json j;
    j["name"] = exp.name();
    j["method"] = config::Method_Name(exp.method());
    j["config_hash"] = config_hash;
    j["manifest_fingerprint"] = data.manifest_fingerprint;
    j["epochs"] = total_epochs;
    j["ranks"] = comm.size();
    j["known_classes"] = data.classes.known;
    j["unknown_classes"] = data.classes.unknown;
    j["openness"] = data.classes.openness;
    j["split"] = data.classes.description;
    j["metrics"] = to_json(result);
    j["selection"] = selection;
    const auto scores = scores_of(exp, test);
    const auto pred = std::get<1>(test.logits.max(1));
    nlohmann::json clips = nlohmann::json::array();
    for (int64_t i = 0; i < data.test->size(); ++i) {
      clips.push_back({{"clip_id", data.test->clip(i).clip_id},
                       {"label", test.labels[i].item<int64_t>()},
                       {"prediction", pred[i].item<int64_t>()},
                       {"score", scores[static_cast<size_t>(i)]}});
    }
    j["clips"] = clips;
    j["train_scores"] = scores_of(exp, train_pred);
    fs::atomic_write_file(options.run_dir / "result.json", j.dump(1));
    nlohmann::json last = to_json(result);
    last["final"] = true;
    last["epoch"] = selection["epoch"];
    last["selection"] = selection["by"];
    metrics_log->append(last);
    LOG(INFO) << "result (epoch " << selection["epoch"].get<int64_t>() << ", "
              << (selection["by"] == "validation" ? "chosen on validation" : "last epoch")
              << "): AUROC " << result.auroc << " OSCR " << result.oscr << " accuracy "
              << result.closed_set_accuracy << " -> " << (options.run_dir / "result.json").string();
  }
  comm.barrier();
  return kExitOk;
}

}  // namespace hesp::train
