#pragma once
// Evaluation: every clip of a dataset exactly once across the ranks (each rank a
// contiguous block, in dataset order), forward without gradients, and the per-clip logits
// all-gathered so every rank holds them in dataset order. Metrics follow from those.
#include <nlohmann/json.hpp>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "data/loader/dataset.h"
#include "metrics/open_set.h"
#include "model/grad_cam.h"
#include "model/hesp_model.h"

namespace hesp::train {

struct Predictions {
  torch::Tensor logits;    // [N, K] what the score is taken from (see evaluator.cc)
  torch::Tensor labels;    // [N] int64, -1 = unknown class
  torch::Tensor features;  // [N, E] float32 video features F_V (the paper's Fig. 6)
};

// Collective.
Predictions predict(const config::Experiment& exp, const model::HespModelImpl& model,
                    const data::Dataset& dataset, const model::CamCache& cache,
                    comm::Communicator& comm);

metrics::ScoreKind score_kind(const config::Experiment& exp);

// The open-set metrics of test predictions; train_scores (optional) give the threshold.
metrics::OpenSetResult evaluate(const config::Experiment& exp, const Predictions& test,
                                const std::optional<std::vector<double>>& train_scores);

// The known-ness scores of predictions (for the threshold and the report's histograms).
std::vector<double> scores_of(const config::Experiment& exp, const Predictions& p);

nlohmann::json to_json(const metrics::OpenSetResult& r);

}  // namespace hesp::train
