#include "metrics/open_set.h"

#include <glog/logging.h>

#include <cmath>

#include "metrics/oscr.h"
#include "metrics/ranking.h"
#include "util/errors.h"

namespace hesp::metrics {

ScoreKind parse_score_kind(const std::string& name) {
  if (name == "max_logit") return ScoreKind::kMaxLogit;
  if (name == "msp") return ScoreKind::kMsp;
  throw UserError("unknown score kind '" + name + "' (expected max_logit or msp)");
}

std::string score_kind_name(ScoreKind kind) {
  return kind == ScoreKind::kMsp ? "msp" : "max_logit";
}

namespace {

// Index of the first maximum of row[0..k).
int64_t first_argmax(const double* row, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

torch::Tensor as_double_matrix(const torch::Tensor& t, const char* what) {
  CHECK_EQ(t.dim(), 2) << what << " must be [rows, classes]";
  CHECK(t.is_floating_point()) << what << " must be floating point";
  return t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
}

}  // namespace

RowScores score_rows(const torch::Tensor& logits, ScoreKind kind) {
  const auto m = as_double_matrix(logits, "logits");
  const int64_t n = m.size(0), k = m.size(1);
  CHECK_GT(k, 0) << "logits need at least one class";
  const double* data = m.data_ptr<double>();
  RowScores out;
  out.scores.resize(static_cast<size_t>(n));
  out.predictions.resize(static_cast<size_t>(n));
  std::vector<double> probs(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    const double* row = data + i * k;
    if (kind == ScoreKind::kMaxLogit) {
      const int64_t best = first_argmax(row, k);
      out.predictions[i] = best;
      out.scores[i] = row[best];
      continue;
    }
    // Softmax with the row maximum subtracted; the sum runs in index order.
    const double mx = row[first_argmax(row, k)];
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      probs[j] = std::exp(row[j] - mx);
      sum += probs[j];
    }
    for (int64_t j = 0; j < k; ++j) probs[j] /= sum;
    const int64_t best = first_argmax(probs.data(), k);
    out.predictions[i] = best;
    out.scores[i] = probs[best];
  }
  return out;
}

OpenSetResult evaluate_open_set(const torch::Tensor& known_logits,
                                const torch::Tensor& known_labels,
                                const torch::Tensor& unknown_logits,
                                const std::optional<std::vector<double>>& train_scores,
                                const OpenSetOptions& options) {
  CHECK_EQ(known_logits.dim(), 2);
  CHECK_EQ(unknown_logits.dim(), 2);
  const int64_t k = known_logits.size(1);
  CHECK_EQ(unknown_logits.size(1), k) << "known and unknown logits disagree on K";
  CHECK_EQ(known_labels.dim(), 1);
  CHECK_EQ(known_labels.size(0), known_logits.size(0));
  CHECK(known_logits.size(0) > 0 && unknown_logits.size(0) > 0)
      << "open-set metrics need known and unknown clips";
  const auto labels_t = known_labels.to(torch::kCPU, torch::kLong).contiguous();
  const std::vector<int64_t> labels(labels_t.data_ptr<int64_t>(),
                                    labels_t.data_ptr<int64_t>() + labels_t.numel());
  for (int64_t y : labels) CHECK(y >= 0 && y < k) << "label " << y << " out of [0, " << k << ")";

  OpenSetResult r;
  r.score = options.score;
  r.num_known_classes = k;
  r.n_known = known_logits.size(0);
  r.n_unknown = unknown_logits.size(0);

  const RowScores known = score_rows(known_logits, options.score);
  const RowScores unknown = score_rows(unknown_logits, options.score);
  r.auroc = auroc(known.scores, unknown.scores);
  std::vector<bool> correct(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) correct[i] = known.predictions[i] == labels[i];
  r.oscr = oscr(known.scores, correct, unknown.scores);
  r.tnr_at_tpr = tnr_at_tpr(known.scores, unknown.scores, options.target_tpr);

  // Closed-set accuracy always uses the raw-logit arg-max, whatever the score.
  const RowScores raw = options.score == ScoreKind::kMaxLogit
                            ? known
                            : score_rows(known_logits, ScoreKind::kMaxLogit);
  int64_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += raw.predictions[i] == labels[i];
  r.closed_set_accuracy = static_cast<double>(right) / static_cast<double>(labels.size());

  if (train_scores) {
    CHECK(!train_scores->empty()) << "threshold metrics need training scores";
    const double t = unknown_threshold(*train_scores, options.threshold_percentile);
    r.at_threshold = threshold_metrics(raw.predictions, labels, known.scores,
                                       score_rows(unknown_logits, ScoreKind::kMaxLogit).predictions,
                                       unknown.scores, k, t);
  }
  return r;
}

}  // namespace hesp::metrics
