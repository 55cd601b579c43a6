#include "eval/evaluator.h"

#include <glog/logging.h>

#include "data/loader/loader.h"
#include "eval/cam_boxes.h"
#include "util/errors.h"
#include "util/torch_compat.h"

namespace hesp::eval {

metrics::ScoreKind score_kind(const config::EvalConfig& eval, const config::MethodTraits& traits) {
  if (traits.msp_score) return metrics::ScoreKind::kMsp;
  return eval.score() == config::EvalConfig::msp ? metrics::ScoreKind::kMsp
                                                 : metrics::ScoreKind::kMaxLogit;
}

Predictions predict(const config::Experiment& exp, const model::HespModelImpl& model,
                    const data::Dataset& dataset, const model::CamCache& cache,
                    comm::Communicator& comm) {
  data::SamplerOptions so;
  so.num_clips = dataset.size();
  so.rank = comm.rank();
  so.world_size = comm.size();
  so.batch_size = exp.eval().batch_size();
  so.training = false;
  so.seed = exp.train().seed();
  data::LoaderOptions lo;
  lo.transform.frames = exp.data().frames_per_clip();
  lo.transform.size = exp.data().image_size();
  lo.transform.training = false;
  lo.transform.seed = exp.train().seed();
  lo.threads = exp.data().loader_threads();
  lo.prefetch_batches = exp.data().prefetch_batches();
  data::Loader loader(dataset, data::DistributedSampler(so), lo);
  loader.start({0, 0});
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> logits, labels, features;
  // With combine = probs the MSP is taken of P_H itself: log P_H has softmax P_H.
  const bool msp = score_kind(exp.eval(), model.traits()) == metrics::ScoreKind::kMsp;
  while (auto batch = loader.next()) {
    const auto centers = model.uses_visual_prompt()
                             ? batch_centers(exp, cache, batch->clip_ids)
                             : torch::zeros({batch->frames.size(0), 2}, torch::kLong);
    compat::CudaBf16Autocast autocast(model.device().is_cuda() && exp.train().bf16_autocast());
    const auto out = model.forward(batch->frames.to(model.device()), centers);
    logits.push_back(
        (msp ? out.combined_log_probs : out.combined_logits).to(torch::kCPU, torch::kFloat64));
    labels.push_back(batch->labels);
    features.push_back(out.video_features.to(torch::kCPU, torch::kFloat32));
  }
  const int64_t K = static_cast<int64_t>(dataset.known_classes().size());
  Predictions p;
  const auto local_logits =
      logits.empty() ? torch::empty({0, K}, torch::kFloat64) : torch::cat(logits).contiguous();
  const auto local_labels =
      labels.empty() ? torch::empty({0}, torch::kLong) : torch::cat(labels).contiguous();
  p.logits = comm.all_gather_v(local_logits);
  p.labels = comm.all_gather_v(local_labels);
  const int64_t E = model.clip().config().embed_dim;
  p.features = comm.all_gather_v(features.empty() ? torch::empty({0, E})
                                                  : torch::cat(features).contiguous());
  CHECK_EQ(p.logits.size(0), dataset.size());
  return p;
}

std::vector<double> scores_of(const config::EvalConfig& eval, const config::MethodTraits& traits,
                              const Predictions& p) {
  return metrics::score_rows(p.logits, score_kind(eval, traits)).scores;
}

metrics::OpenSetResult evaluate(const config::EvalConfig& eval, const config::MethodTraits& traits,
                                const Predictions& test,
                                const std::optional<std::vector<double>>& train_scores) {
  const auto known = test.labels >= 0;
  const auto known_idx = known.nonzero().view(-1);
  const auto unknown_idx = known.logical_not().nonzero().view(-1);
  if (known_idx.numel() == 0 || unknown_idx.numel() == 0) {
    throw UserError("the test set needs clips of both known and unknown classes (known: " +
                    std::to_string(known_idx.numel()) +
                    ", unknown: " + std::to_string(unknown_idx.numel()) + ")");
  }
  metrics::OpenSetOptions o;
  o.score = score_kind(eval, traits);
  o.threshold_percentile = eval.threshold_percentile();
  return metrics::evaluate_open_set(test.logits.index_select(0, known_idx),
                                    test.labels.index_select(0, known_idx),
                                    test.logits.index_select(0, unknown_idx), train_scores, o);
}

run::RunMetrics run_metrics(const metrics::OpenSetResult& r) {
  run::RunMetrics m;
  m.score = metrics::score_kind_name(r.score);
  m.num_known_classes = r.num_known_classes;
  m.n_known = r.n_known;
  m.n_unknown = r.n_unknown;
  m.auroc = r.auroc;
  m.oscr = r.oscr;
  m.closed_set_accuracy = r.closed_set_accuracy;
  m.tnr_at_95tpr = r.tnr_at_tpr;
  if (r.at_threshold) {
    const auto& t = *r.at_threshold;
    m.at_threshold =
        run::ThresholdResult{t.threshold, t.open_set_accuracy, t.macro_f1, t.confusion};
  }
  return m;
}

nlohmann::json to_json(const metrics::OpenSetResult& r) { return run::to_json(run_metrics(r)); }

double closed_set_accuracy(const Predictions& p) {
  CHECK_GT(p.labels.size(0), 0) << "closed-set accuracy of no clips";
  CHECK(p.labels.ge(0).all().item<bool>()) << "closed-set accuracy needs known labels only";
  const auto pred = std::get<1>(p.logits.max(1));
  return pred.eq(p.labels).to(torch::kFloat64).mean().item<double>();
}

bool ValidationSelection::observe(int64_t e, double a) {
  CHECK_GT(e, epoch) << "epochs are observed in order";
  if (epoch > 0 && a < accuracy) return false;
  epoch = e;
  accuracy = a;
  return true;
}

nlohmann::json ValidationSelection::to_json() const {
  return {{"epoch", epoch}, {"accuracy", accuracy}};
}

ValidationSelection ValidationSelection::from_json(const nlohmann::json& j,
                                                   const std::string& source) {
  ValidationSelection s;
  try {
    s.epoch = j.at("epoch").get<int64_t>();
    s.accuracy = j.at("accuracy").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw UserError(source + ": not a validation selection record (" + e.what() + ")");
  }
  return s;
}

ModelSelector::ModelSelector(const config::EvalConfig& eval, const config::DataConfig& data,
                             const data::Dataset* validation)
    : best_by_validation_(eval.best_by_validation()),
      validation_fraction_(data.validation_fraction()),
      validation_(validation) {
  CHECK(!best_by_validation_ || validation != nullptr)
      << "best_by_validation without a hold-out (validation rejects this config)";
}

nlohmann::json ModelSelector::observe_epoch(int64_t epoch, const Predictions& validation,
                                            const model::HespModelImpl& model) {
  CHECK(validation_ != nullptr);
  CHECK_EQ(validation.labels.size(0), validation_->size());
  const double accuracy = closed_set_accuracy(validation);
  last_accuracy_ = accuracy;
  bool chosen = false;
  if (best_by_validation_ && best_.observe(epoch, accuracy)) {
    chosen = true;
    torch::NoGradGuard no_grad;
    best_tensors_.clear();
    for (const auto& [name, t] : model.learnable()) {
      best_tensors_[name] = t.detach().to(torch::kCPU).clone();
    }
  }
  return {{"closed_set_accuracy", accuracy}, {"clips", validation_->size()}, {"chosen", chosen}};
}

void ModelSelector::save(checkpoint::CheckpointState* state) const {
  if (!best_by_validation_) return;
  state->blobs["selection"] = best_.to_json().dump();
  for (const auto& [name, t] : best_tensors_) state->tensors["selection/" + name] = t;
}

void ModelSelector::restore(const checkpoint::CheckpointState& state, const std::string& path) {
  if (!best_by_validation_) return;
  const auto blob = state.blobs.find("selection");
  if (blob == state.blobs.end()) return;  // Saved before any evaluation epoch.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(blob->second);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path + ": checkpoint blob 'selection' is not JSON (" + e.what() + ")");
  }
  best_ = ValidationSelection::from_json(j, path + " (selection)");
  best_tensors_.clear();
  for (const auto& [name, t] : state.tensors) {
    if (name.rfind("selection/", 0) == 0) best_tensors_[name.substr(10)] = t;
  }
  if (best_.epoch > 0 && best_tensors_.empty()) {
    throw UserError(path + ": checkpoint names chosen epoch " + std::to_string(best_.epoch) +
                    " but holds none of its tensors");
  }
}

run::RunSelection ModelSelector::choose(model::HespModelImpl& model, int64_t last_epoch) {
  run::RunSelection s;
  if (best_by_validation_ && best_.epoch > 0) {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : model.learnable()) {
      const auto it = best_tensors_.find(name);
      CHECK(it != best_tensors_.end()) << "no tensor " << name << " of the chosen epoch";
      t.copy_(it->second);
    }
    s.by = "validation";
    s.epoch = best_.epoch;
    s.validation_closed_set_accuracy = best_.accuracy;
  } else {
    s.by = "last_epoch";
    s.epoch = last_epoch;
    if (validation_ != nullptr && last_accuracy_ >= 0) {
      s.validation_closed_set_accuracy = last_accuracy_;
    }
  }
  if (validation_ != nullptr) {
    s.validation_clips = validation_->size();
    s.validation_fraction = validation_fraction_;
  }
  return s;
}

run::TestFeatures test_features(const data::Dataset& dataset, const Predictions& p) {
  run::TestFeatures f;
  f.features = p.features;
  CHECK_EQ(p.features.size(0), dataset.size());
  for (int64_t i = 0; i < dataset.size(); ++i) {
    f.clip_ids.push_back(dataset.clip(i).clip_id);
    f.labels.push_back(static_cast<int32_t>(p.labels[i].item<int64_t>()));
  }
  return f;
}

}  // namespace hesp::eval
