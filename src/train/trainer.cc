#include "train/trainer.h"

#include <glog/logging.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "checkpoint/checkpoint_store.h"
#include "clip/model/architecture_name.h"
#include "clip/model/clip_model.h"
#include "clip/tokenizer/tokenizer.h"
#include "clip/tokenizer/vocab_path.h"
#include "comm/root_decision.h"
#include "config/config_loader.h"
#include "config/method_traits.h"
#include "config/validate.h"
#include "data/loader/device_prefetch.h"
#include "data/loader/loader.h"
#include "eval/cam_boxes.h"
#include "eval/evaluator.h"
#include "model/hesp_loss.h"
#include "model/hesp_model.h"
#include "optim/gradient_allreduce.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"
#include "run/metrics_log.h"
#include "run/run_data.h"
#include "run/run_directory.h"
#include "run/run_identity.h"
#include "run/run_result.h"
#include "run/test_features.h"
#include "run/tfevents_writer.h"
#include "train/checkpoint_resume.h"
#include "train/placement.h"
#include "train/preemption.h"
#include "train/training_cadence.h"
#include "train/training_state.h"
#include "util/dir_lock.h"
#include "util/errors.h"
#include "util/failpoint.h"
#include "util/fs.h"
#include "util/logging.h"
#include "util/resources.h"
#include "util/stop_signal.h"
#include "util/threads.h"
#include "util/torch_compat.h"

namespace hesp::train {
namespace {

namespace stdfs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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

data::LoaderOptions train_loader_options(const config::Experiment& exp, torch::Device device) {
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
  lo.pin_memory = device.is_cuda();  // Asynchronous copies (DevicePrefetcher).
  return lo;
}

// What train_epoch ran: the epoch's statistics (all its steps, also those before a
// resume), and whether the run stopped inside it or an action waits for its end.
struct EpochRun {
  EpochStatistics statistics;
  bool stopped = false;  // Checkpointed mid-epoch and stopping.
  StepAction deferred = StepAction::kNone;
};

// One run of `hesp train`: the objects the set-up builds, and the phases as methods.
class TrainingRun {
 public:
  TrainingRun(const config::Experiment& exp, const TrainOptions& options,
              comm::Communicator& world);
  int run();

 private:
  // Set-up.
  void open_run_directory();
  void build_model();
  void resume();
  void build_loader();
  // The epoch's phases.
  EpochRun train_epoch();
  double train_step();  // Returns the step's loss.
  void on_non_finite_step(const model::LossBreakdown& loss, double total, bool local_finite,
                          const std::string& gradient);
  nlohmann::json report_epoch(const EpochStatistics& statistics);
  void evaluate_epoch(int64_t epoch, const EpochDecision& decision, nlohmann::json* record);
  void write_epoch_record(const nlohmann::json& record);
  void mark_restart();
  void save_checkpoint();
  // After the last epoch.
  void write_result();

  // Rank 0 holds the run directory's lock (one writer, util/dir_lock.h) for the whole run:
  // declared first, released last.
  std::unique_ptr<util::FileLock> run_lock_;
  const config::Experiment& exp_;
  const config::MethodTraits& traits_;  // Of exp_.method().
  const TrainOptions& options_;
  const run::RunDirectory dir_;  // options_.run_dir's layout.
  const Placement placement_;
  comm::Communicator& comm_;
  const std::string config_text_;
  const std::string config_hash_;
  const std::string config_identity_;  // run_identity.h
  std::string weights_sha256_;         // Of model.clip_weights (rank 0's, broadcast).
  std::string resumed_from_;           // The checkpoint resumed from, if any.
  const int64_t global_batch_;
  run::RunData data_;
  std::shared_ptr<clip::ClipModel> clip_;
  model::HespModel model_{nullptr};
  std::unique_ptr<optim::Sgd> sgd_;
  std::optional<TrainingState> state_;
  int total_epochs_ = 0;
  checkpoint::CheckpointStore store_;
  model::CamCache cache_;
  std::unique_ptr<data::DistributedSampler> sampler_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<data::DevicePrefetcher> prefetcher_;  // The loader's batches on the device.
  std::optional<TrainingCadence> cadence_;
  std::unique_ptr<run::MetricsLog> metrics_log_;
  std::unique_ptr<run::TfEventsWriter> tb_;
  std::unique_ptr<PreemptionGuard> guard_;
  StepActionSource* actions_ = nullptr;
  std::unique_ptr<optim::GradientAllReducer> reducer_;
  std::optional<run::ProgressFormatter> progress_;
  std::optional<eval::ModelSelector> selector_;  // The validation hold-out and model selection.
  std::vector<std::pair<std::string, torch::Tensor>> learnable_;
  int64_t skips_in_a_row_ = 0;  // train.non_finite skip_step
};

TrainingRun::TrainingRun(const config::Experiment& exp, const TrainOptions& options,
                         comm::Communicator& world)
    : exp_((config::validate_or_throw(exp, "the run's config"), exp)),
      traits_(config::method_traits(exp.method())),
      options_(options),
      dir_(options.run_dir),
      placement_(place_rank(exp, world)),
      comm_(*placement_.comm),
      config_text_(config::to_text(exp)),
      config_hash_(config::config_hash(exp)),
      config_identity_(run::config_identity(exp)),
      global_batch_(exp.train().global_batch_size()),
      store_(options.run_dir, exp.checkpoint().keep_last()) {
  // The CLI validated the file already; callers that build an Experiment in code (the
  // sweep, tests) get the same checks (above), e.g. train.bf16_autocast only with
  // train.device cuda.
  open_run_directory();
  if (global_batch_ % comm_.size() != 0) {
    throw ConfigError("train.global_batch_size must be divisible by the number of ranks " +
                      std::to_string(comm_.size()) + " (got " + std::to_string(global_batch_) +
                      ")");
  }
  data_ = run::open_run_data(exp_);  // Preconditions checked: nothing trains on bad data.
  selector_.emplace(exp_.eval(), exp_.data(), data_.validation.get());
  build_model();
  resume();
  std::vector<const data::Dataset*> box_sets{data_.train.get(), data_.test.get()};
  if (data_.validation) box_sets.push_back(data_.validation.get());
  eval::compute_missing_boxes(exp_, *model_, box_sets, comm_, &cache_);
  if (comm_.is_root() && model_->uses_visual_prompt()) {
    cache_.save(dir_.cam_cache().string());
  }
  build_loader();
}

// The run directory, per-rank logs, threads, stall timeouts and the effective config.
void TrainingRun::open_run_directory() {
  comm::decide_on_root(comm_, [&] {
    fs::ensure_writable_directory(options_.run_dir);
    run_lock_ = util::FileLock::acquire(dir_.lock(), "run directory " + options_.run_dir.string());
    fs::ensure_writable_directory(dir_.checkpoints());
    return std::string();
  });
  logging::configure_for_rank(comm_.rank(), options_.log_all_ranks, options_.run_dir);
  const int threads = threads::configure(options_.threads, comm_.local_size());
  const auto& d = exp_.distributed();
  comm_.set_timeouts({d.stall_warning_s(), d.stall_abort_s(), d.nccl_timeout_s()});
  if (comm_.is_root()) config::write_effective_config(exp_, options_.run_dir);
  LOG(INFO) << "run " << options_.run_dir.string() << " (" << exp_.name() << "): method "
            << config::Method_Name(exp_.method()) << ", " << comm_.size() << " rank(s) x "
            << threads << " thread(s), backend " << comm::backend_name(comm_.backend());
  // Every rank's own log: where it runs and its share of that node (local rank and size
  // come from the MPI shared-memory split, i.e. per node, not per world).
  LOG(INFO) << "rank " << comm_.rank() << " of " << comm_.size() << " on " << resources::host_name()
            << ": local rank " << comm_.local_rank() << " of " << comm_.local_size() << ", "
            << threads << " thread(s)";
}

// CLIP, the prompts (identical on every rank), the optimiser and the schedule.
void TrainingRun::build_model() {
  torch::manual_seed(exp_.train().seed());  // Same initial prompts on every rank...
  clip_ = load_clip(exp_);
  // The weights' identity by content (a resume and `hesp predict` compare it).
  weights_sha256_ =
      comm::decide_on_root(comm_, [&] { return run::weights_sha256(exp_.model().clip_weights()); });
  clip_->set_activation_checkpointing(exp_.train().activation_checkpointing());
  const clip::Tokenizer tokenizer(clip::resolve_vocab_path(exp_.model().vocab()));
  model_ = model::HespModel(traits_, exp_.model(), exp_.prompts(), exp_.data(), exp_.losses(),
                            clip_, tokenizer, data_.classes.known);
  // Built on the CPU (same random draws on every device), then moved; `to` keeps the
  // parameter objects, so `learnable` below refers to the tensors on the device.
  clip_->to(placement_.device);
  model_->to(placement_.device);
  const auto learnable = model_->learnable();
  optim::check_same_shapes(comm_, learnable);
  {
    std::vector<torch::Tensor> tensors;
    for (const auto& [n, t] : learnable) tensors.push_back(t);
    optim::broadcast_parameters(comm_, tensors);  // ...and identical for certain.
  }
  sgd_ =
      std::make_unique<optim::Sgd>(learnable, exp_.optim().momentum(), exp_.optim().weight_decay());
  state_.emplace(optim::LrSchedule::from_config(exp_.schedule(), exp_.optim().lr()));
  // A method with nothing to learn (config::MethodTraits::trains) only evaluates.
  total_epochs_ = learnable.empty() ? 0 : state_->schedule.total_epochs();
}

// The newest valid checkpoint, if any, on every rank; else the CAM cache of an earlier run.
void TrainingRun::resume() {
  ResumeRequest request;
  request.config_hash = config_hash_;
  request.manifest_fingerprint = data_.manifest_fingerprint;
  request.config_text = config_text_;
  request.config_identity = config_identity_;
  request.legacy_manifest_fingerprint = data_.identity.legacy_fingerprint;
  request.manifest_lines = data_.identity.lines;
  request.clip_weights_sha256 = weights_sha256_;
  request.force = options_.force;
  const stdfs::path cam_path = dir_.cam_cache();
  if (auto ckpt = resolve_resume(comm_, store_, request)) {
    const std::string source = ckpt->path.string();
    resumed_from_ = source;
    restore_model(ckpt->state, source, *model_);
    restore_optimizer(ckpt->state, *sgd_);
    restore_rng(ckpt->state);
    restore_cam_cache(ckpt->state, source, &cache_);
    state_->restore(ckpt->state);
    selector_->restore(ckpt->state, source);
    LOG(INFO) << "resumed from " << source << " at epoch " << state_->position.epoch << " step "
              << state_->position.step;
  } else if (stdfs::exists(cam_path)) {
    cache_ = model::CamCache::load(cam_path.string());
  }
}

// The sampler, the loader, the cadence, the logs, the action source and the gradient
// all-reducer.
void TrainingRun::build_loader() {
  data::SamplerOptions so;
  so.num_clips = data_.train->size();
  so.rank = comm_.rank();
  so.world_size = comm_.size();
  so.batch_size = global_batch_ / comm_.size();
  so.training = true;
  so.seed = exp_.train().seed();
  sampler_ = std::make_unique<data::DistributedSampler>(so);
  int64_t steps_per_epoch = sampler_->steps_per_epoch();
  if (exp_.train().max_steps_per_epoch() > 0) {
    steps_per_epoch = std::min<int64_t>(steps_per_epoch, exp_.train().max_steps_per_epoch());
  }
  if (total_epochs_ > 0 && steps_per_epoch == 0) {
    throw UserError("the training set (" + std::to_string(data_.train->size()) +
                    " clips) is smaller than one global batch of " + std::to_string(global_batch_));
  }
  TrainingCadence::Settings cs;
  cs.total_epochs = total_epochs_;
  cs.steps_per_epoch = steps_per_epoch;
  cs.log_every_steps = exp_.logging().log_every_steps();
  cs.evaluate_every_epochs = exp_.eval().every_epochs();
  cs.has_validation = data_.validation != nullptr;
  cs.checkpoint_every_epochs = exp_.checkpoint().every_epochs();
  cs.max_epochs_this_run = options_.max_epochs_this_run;
  cadence_.emplace(cs);
  if (comm_.is_root()) mark_restart();
  actions_ = options_.actions;
  if (actions_ == nullptr) {
    guard_ = std::make_unique<PreemptionGuard>(options_.run_dir);
    actions_ = guard_.get();
  }
  loader_ = std::make_unique<data::Loader>(*data_.train, *sampler_,
                                           train_loader_options(exp_, placement_.device));
  prefetcher_ = std::make_unique<data::DevicePrefetcher>(*loader_, placement_.device);
  // Gradient averaging overlapped with backward: a hook per learnable tensor fills its
  // bucket, and a full bucket's all-reduce starts (non-blocking) while backward goes on.
  // Listed last-registered first, roughly the order backward produces the gradients.
  if (total_epochs_ > 0) {
    const int64_t cap_bytes = int64_t{exp_.distributed().bucket_size_mb()} << 20;
    const auto learnable = model_->learnable();
    std::vector<torch::Tensor> params;
    for (auto it = learnable.rbegin(); it != learnable.rend(); ++it) params.push_back(it->second);
    reducer_ = std::make_unique<optim::GradientAllReducer>(comm_, params, cap_bytes);
    reducer_->enable_hooks();
    learnable_ = learnable;
  }
  progress_.emplace(total_epochs_ * steps_per_epoch, cadence_->global_step(state_->position),
                    now_s());
}

// The epochs from the resumed position, then the result. A stop signal (every rank agrees,
// comm::stop_requested_on_any_rank) is acted on at the next safe point: after the set-up
// (nothing trained yet: stop at once), after a step (train_epoch: checkpoint and stop), and
// after an epoch's evaluation and checkpoint (checkpoint if the cadence did not, and stop).
int TrainingRun::run() {
  if (comm::stop_requested_on_any_rank(comm_)) {
    LOG(WARNING) << "stop signal during the set-up: stopping before the first step; exit code "
                 << kExitPreempted;
    return kExitPreempted;
  }
  int epochs_this_run = 0;
  while (state_->position.epoch < total_epochs_) {
    const int64_t epoch = state_->position.epoch;
    const EpochRun ran = train_epoch();
    if (ran.stopped) {
      LOG(WARNING) << "stopping after a preemption signal; exit code " << kExitPreempted;
      return kExitPreempted;
    }
    ++epochs_this_run;
    const EpochDecision decision = cadence_->after_epoch(epoch, epochs_this_run, ran.deferred);
    nlohmann::json record = report_epoch(ran.statistics);
    evaluate_epoch(epoch, decision, &record);
    write_epoch_record(record);
    // Tests of a crash between checkpoints end the run here (util/failpoint.h).
    util::failpoint("train.epoch_logged");
    state_->start_next_epoch();
    if (decision.checkpoint) save_checkpoint();
    if (decision.stop) {
      LOG(WARNING) << "stopping after " << epochs_this_run << " epoch(s) (" << decision.stop_reason
                   << "); exit code " << kExitPreempted;
      return kExitPreempted;
    }
    // A signal during the epoch's evaluation or its checkpoint: the epoch is recorded.
    if (comm::stop_requested_on_any_rank(comm_)) {
      if (!decision.checkpoint) save_checkpoint();
      LOG(WARNING) << "stopping after epoch " << epoch + 1
                   << " (a stop signal during its evaluation or checkpoint); exit code "
                   << kExitPreempted;
      return kExitPreempted;
    }
  }
  write_result();
  comm_.barrier();
  return kExitOk;
}

// The steps of the position's epoch from the position on; after each, the action source
// is asked and the cadence decides.
EpochRun TrainingRun::train_epoch() {
  EpochRun ran;
  const int64_t steps_per_epoch = cadence_->settings().steps_per_epoch;
  const int64_t epoch = state_->position.epoch;
  sgd_->set_lr(state_->lr());
  loader_->start(state_->position);
  prefetcher_->reset();
  while (state_->position.step < steps_per_epoch) {
    const double loss = train_step();
    const data::SamplerPosition& next = state_->position;
    const StepAction requested = actions_->poll(comm_, next);  // Every rank agrees.
    const StepDecision decision = cadence_->after_step(next, requested);
    if (decision.log && comm_.is_root()) {
      LOG(INFO) << progress_->format(static_cast<int>(epoch + 1), total_epochs_, next.step,
                                     steps_per_epoch, cadence_->global_step(next), now_s(),
                                     {{"loss", loss}, {"lr", sgd_->lr()}});
    }
    if (decision.deferred != StepAction::kNone) ran.deferred = decision.deferred;
    if (decision.checkpoint) save_checkpoint();
    if (decision.stop) {
      ran.stopped = true;
      break;
    }
  }
  ran.statistics = state_->epoch;
  return ran;
}

// One forward, backward, gradient average and optimiser step; advances the position and
// the epoch's running sums.
double TrainingRun::train_step() {
  // Data: the batch on the device. The time blocked here (the loader had not finished it,
  // or its copy to the device was still running) is the epoch's data_wait_fraction.
  const double t0 = now_s();
  auto batch = prefetcher_->next();
  CHECK(batch) << "sampler ended before steps_per_epoch";
  const double t1 = now_s();
  const auto centers = model_->uses_visual_prompt()
                           ? eval::training_batch_centers(exp_, cache_, batch->host)
                           : torch::zeros({batch->frames.size(0), 2}, torch::kLong);
  const auto& frames = batch->frames;
  const auto& labels = batch->labels;
  model::LossBreakdown loss;
  {
    compat::CudaBf16Autocast autocast(placement_.bf16_autocast);
    const auto out = model_->forward(frames, centers);
    loss = model::hesp_loss(exp_, *model_, out, labels, comm_);
  }
  sgd_->zero_grad();
  // The non-finite check, part 1 (docs/training.md, "Divergence"): a rank whose loss is
  // not finite seeds backward with NaN, so that its gradients are NaN and, through the
  // all-reduce's sum, so is every rank's averaged gradient. The verdict of part 2 is then
  // the same on every rank without a collective of its own.
  const double total = loss.total.item<double>();
  bool local_finite = std::isfinite(total);
  for (const auto& [k, v] : loss.terms) local_finite = local_finite && std::isfinite(v);
  if (local_finite) {
    loss.total.backward();
  } else {
    loss.total.backward(torch::full_like(loss.total, std::numeric_limits<double>::quiet_NaN()));
  }
  // The next step's batch, if the loader has it: on CUDA its copy (side stream, pinned
  // memory) overlaps this step's remaining device work.
  if (state_->position.step + 1 < cadence_->settings().steps_per_epoch) prefetcher_->stage();
  const double t2 = now_s();
  // The all-reduce time that backward did not hide: buckets still in flight, and those
  // of tensors that got no gradient (zeros, so that every rank runs the same collectives).
  reducer_->finish();
  const double t3 = now_s();
  // Part 2: the averaged gradients, identical on every rank.
  if (const std::string bad = optim::first_non_finite_gradient(learnable_); !bad.empty()) {
    on_non_finite_step(loss, total, local_finite, bad);  // Throws, or skips the update.
    ++state_->epoch.skipped_steps;
    ++state_->position.step;
    return total;
  }
  skips_in_a_row_ = 0;
  optim::apply_normalized_step(exp_.optim(), model_->delta(),
                               model_->negative_images());  // Then SGD.
  sgd_->step();
  std::map<std::string, double> losses = {{"loss", total}};
  for (const auto& [k, v] : loss.terms) losses["loss/" + k] = v;
  state_->epoch.add_step(losses, t1 - t0, t3 - t2, now_s() - t0);
  ++state_->position.step;
  return total;
}

// Collective, reached by every rank at the same step: names what went non-finite (the
// loss terms, on which ranks, or else `gradient`, the first tensor whose gradient did), then stops
// the run (train.non_finite.action stop, or too many skips in a row) or skips the step.
void TrainingRun::on_non_finite_step(const model::LossBreakdown& loss, double total,
                                     bool local_finite, const std::string& gradient) {
  // --- what: the terms that were not finite on any rank (2 NaN, 1 Inf) ---
  const auto kind = [](double v) { return std::isnan(v) ? 2 : std::isinf(v) ? 1 : 0; };
  std::vector<std::pair<std::string, double>> values = {{"loss (total)", total}};
  for (const auto& [k, v] : loss.terms) values.emplace_back("loss/" + k, v);
  std::string what;
  for (const auto& [name, v] : values) {
    const int64_t k = comm_.all_reduce_int(kind(v), comm::ReduceOp::kMax);
    if (k > 0) what += (what.empty() ? "" : ", ") + name + " = " + (k == 2 ? "nan" : "inf");
  }
  const int64_t first_rank =
      comm_.all_reduce_int(local_finite ? comm_.size() : comm_.rank(), comm::ReduceOp::kMin);
  if (!what.empty()) {
    what = "loss term(s) " + what + " (first on rank " + std::to_string(first_rank) + ")";
  } else {
    what = "the loss is finite but the averaged gradient of " + gradient + " is not";
  }
  // --- where ---
  const auto& pos = state_->position;
  const std::string where =
      "epoch " + std::to_string(pos.epoch + 1) + "/" + std::to_string(total_epochs_) + " step " +
      std::to_string(pos.step + 1) + "/" + std::to_string(cadence_->settings().steps_per_epoch) +
      " (global step " + std::to_string(cadence_->global_step(pos) + 1) + ")";
  // --- stop or skip ---
  const auto& policy = exp_.train().non_finite();
  ++skips_in_a_row_;
  const bool skip = policy.action() == config::NonFiniteConfig::skip_step &&
                    skips_in_a_row_ <= policy.max_consecutive_skips();
  if (skip) {
    LOG(WARNING) << "non-finite step skipped at " << where << ": " << what << " ("
                 << skips_in_a_row_ << " in a row, at most " << policy.max_consecutive_skips()
                 << ")";
    sgd_->zero_grad();
    return;
  }
  std::string message = "training diverged at " + where + ": " + what + ". ";
  message += skips_in_a_row_ > 1 ? std::to_string(skips_in_a_row_) +
                                       " non-finite steps in a row (train.non_finite."
                                       "max_consecutive_skips " +
                                       std::to_string(policy.max_consecutive_skips()) + "). "
                                 : std::string();
  message += "No result is written; the last checkpoint in " + dir_.checkpoints().string() +
             " is kept. Lower optim.lr, or set train.non_finite { action: skip_step } "
             "(docs/training.md, \"Divergence\")";
  comm::throw_on_every_rank(comm_, message, kExitDiverged);  // The verdict is collective.
}

// The epoch's record: loss means over its steps and ranks, throughput and its overheads.
nlohmann::json TrainingRun::report_epoch(const EpochStatistics& s) {
  nlohmann::json record = {{"epoch", state_->position.epoch + 1}, {"lr", sgd_->lr()}};
  for (const auto& [k, mean] : s.mean_losses(comm_)) record[k] = mean;
  if (s.skipped_steps > 0) record["skipped_steps"] = s.skipped_steps;  // Same on every rank.
  // Throughput and its overheads, as rank 0 saw them: the all-reduce time includes
  // waiting for the slowest rank, so imbalance shows up there. RSS is the largest rank's.
  record["data_wait_fraction"] = s.step_s > 0 ? s.data_wait_s / s.step_s : 0.0;
  record["allreduce_fraction"] = s.step_s > 0 ? s.allreduce_s / s.step_s : 0.0;
  record["step_s"] = s.steps > 0 ? s.step_s / static_cast<double>(s.steps) : 0.0;
  record["samples_per_s"] =
      s.step_s > 0 ? static_cast<double>(global_batch_ * s.steps) / s.step_s : 0.0;
  record["peak_rss_mib"] = comm_.all_reduce_double(resources::peak_rss_mib(), comm::ReduceOp::kMax);
  return record;
}

// Evaluation and selection after 0-based `epoch`, as the cadence decided: the test
// metrics of the current prompts (`decision.evaluate`), and the validation hold-out's
// accuracy (`decision.validate`), which the selector uses to choose the reported epoch
// (spec §9).
void TrainingRun::evaluate_epoch(int64_t epoch, const EpochDecision& decision,
                                 nlohmann::json* record) {
  // Tests of a stop signal during the evaluation hold the run here (util/failpoint.h).
  if (decision.evaluate || decision.validate) {
    util::failpoint("train.evaluating", util::stop_requested);
  }
  if (decision.evaluate) {
    const auto predictions = eval::predict(exp_, *model_, *data_.test, cache_, comm_);
    (*record)["test"] =
        eval::to_json(eval::evaluate(exp_.eval(), traits_, predictions, std::nullopt));
  }
  if (decision.validate) {
    const auto predictions = eval::predict(exp_, *model_, *data_.validation, cache_, comm_);
    (*record)["validation"] = selector_->observe_epoch(epoch + 1, predictions, *model_);
  }
}

// metrics.jsonl, TensorBoard and the log line (rank 0).
void TrainingRun::write_epoch_record(const nlohmann::json& record) {
  if (!comm_.is_root()) return;
  metrics_log_->append(record);
  const int64_t epoch = record["epoch"].get<int64_t>();
  if (tb_) {
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
    tb_->add_scalars(scalars, epoch);
  }
  LOG(INFO) << "epoch " << epoch << "/" << total_epochs_ << " " << record.dump();
}

// Rank 0: opens metrics.jsonl and TensorBoard. After a restart (a resume, or a start over
// the logs of a run that died before its first checkpoint), metrics.jsonl keeps the
// records up to the resumed epoch and gets a restart marker, and the new events file
// starts with a SessionLog START at the resumed step, so that each epoch is logged once.
void TrainingRun::mark_restart() {
  const auto& pos = state_->position;
  const auto path = dir_.metrics_log();
  nlohmann::json marker = {
      {"event", "restart"},
      {"resumed_at_epoch", pos.epoch},
      {"resumed_at_step", pos.step},
      {"checkpoint", resumed_from_},
      {"host", resources::host_name()},
      {"time",
       std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()}};
  const int64_t dropped = run::rewind_metrics_log(path, pos.epoch, marker);
  if (dropped > 0) {
    LOG(WARNING) << "restart: " << dropped << " record(s) of " << path.string()
                 << " written after the checkpoint were dropped; epochs after " << pos.epoch
                 << " are logged again";
  }
  metrics_log_ = std::make_unique<run::MetricsLog>(path);
  if (exp_.logging().tensorboard()) {
    tb_ = std::make_unique<run::TfEventsWriter>(dir_.tensorboard());
    // TensorBoard's step is the 1-based epoch: the first epoch this run logs.
    if (dropped >= 0 || !resumed_from_.empty())
      tb_->add_session_start(pos.epoch + 1, resumed_from_);
  }
}

// Collective: rank 0 writes the state at the current position; the epoch's loss sums are
// averaged over ranks first (EpochStatistics::averaged_over_ranks).
void TrainingRun::save_checkpoint() {
  TrainingState at = *state_;
  at.epoch = state_->epoch.averaged_over_ranks(comm_);
  checkpoint::CheckpointState ckpt;
  at.save(&ckpt);
  ckpt.config_hash = config_hash_;
  ckpt.config_text = config_text_;
  ckpt.manifest_fingerprint = data_.manifest_fingerprint;
  ckpt.blobs[run::kManifestLinesBlob] = data_.identity.lines;
  ckpt.blobs[run::kWeightsHashBlob] = weights_sha256_;
  save_model(*model_, &ckpt);
  save_optimizer(*sgd_, &ckpt);
  save_rng(&ckpt);
  save_cam_cache(cache_, &ckpt);
  selector_->save(&ckpt);
  store_.save_on_root(comm_, ckpt);
  // Tests of preemption and node loss hold the run here (util/failpoint.h).
  util::failpoint("train.checkpoint_saved", util::stop_requested);
}

// Model selection, the final evaluation (threshold from the training clips) and result.json.
void TrainingRun::write_result() {
  const run::RunSelection selection = selector_->choose(*model_, total_epochs_);
  const auto test = eval::predict(exp_, *model_, *data_.test, cache_, comm_);
  const auto train_pred = eval::predict(exp_, *model_, *data_.train, cache_, comm_);
  const auto result =
      eval::evaluate(exp_.eval(), traits_, test, eval::scores_of(exp_.eval(), traits_, train_pred));
  if (!comm_.is_root()) return;
  run::RunResult r;
  r.name = exp_.name();
  r.method = config::Method_Name(exp_.method());
  r.config_hash = config_hash_;
  r.manifest_fingerprint = data_.manifest_fingerprint;
  // Identity by content (run_identity.h): what a sweep rerun and `hesp predict` compare.
  r.config_identity = config_identity_;
  r.clip_weights = exp_.model().clip_weights();
  r.clip_weights_sha256 = weights_sha256_;
  r.epochs = total_epochs_;
  r.ranks = comm_.size();
  r.known_classes = data_.classes.known;
  r.unknown_classes = data_.classes.unknown;
  r.openness = data_.classes.openness;
  r.split = data_.classes.description;
  r.metrics = eval::run_metrics(result);
  r.selection = selection;
  // What decides whether the numbers are comparable with the paper's (hesp report).
  r.protocol =
      run::RunProtocol{clip::architecture_name(model_->clip().config()), data_.dataset_formats,
                       exp_.data().train_split(), exp_.data().test_split()};
  const auto scores = eval::scores_of(exp_.eval(), traits_, test);
  const auto pred = std::get<1>(test.logits.max(1));
  for (int64_t i = 0; i < data_.test->size(); ++i) {
    r.clips.push_back({data_.test->clip(i).clip_id, test.labels[i].item<int64_t>(),
                       pred[i].item<int64_t>(), scores[static_cast<size_t>(i)]});
  }
  r.train_scores = eval::scores_of(exp_.eval(), traits_, train_pred);
  run::write_run_result(dir_.result(), r);
  run::write_test_features(dir_.test_features(), eval::test_features(*data_.test, test));
  nlohmann::json last = eval::to_json(result);
  last["final"] = true;
  last["epoch"] = selection.epoch;
  last["selection"] = selection.by;
  metrics_log_->append(last);
  LOG(INFO) << "result (epoch " << selection.epoch << ", "
            << (selection.by == "validation" ? "chosen on validation" : "last epoch") << "): AUROC "
            << result.auroc << " OSCR " << result.oscr << " accuracy " << result.closed_set_accuracy
            << " -> " << dir_.result().string();
}

}  // namespace

int run_training(const config::Experiment& exp, const TrainOptions& options,
                 comm::Communicator& world) {
  TrainingRun run(exp, options, world);  // Set-up, resume included.
  return run.run();
}

}  // namespace hesp::train
