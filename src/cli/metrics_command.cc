// `hesp metrics --input scores.json [--score max_logit|msp] [--percentile P] [--output F]`:
// open-set metrics (AUROC, OSCR, closed-set accuracy, TNR at 95% TPR, and the threshold
// metrics when training scores are given) from a JSON file of logits (docs/metrics.md).
#include <iostream>
#include <string>

#include "cli/app.h"
#include "metrics/scores_json.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::cli {

void add_metrics_commands(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string input;
    std::string score = "max_logit";
    double percentile = 5.0;
    std::string output;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "metrics", "open-set metrics (AUROC, OSCR, accuracy, TNR@95TPR) from a JSON of logits");
  sub->add_option("--input", opts->input,
                  "JSON with known_logits, known_labels, unknown_logits [, train_scores], or "
                  "{\"cases\": [...]} of such objects with a name each")
      ->required();
  sub->add_option("--score", opts->score, "known-ness score of a row")
      ->check(CLI::IsMember({"max_logit", "msp"}))
      ->capture_default_str();
  sub->add_option("--percentile", opts->percentile,
                  "threshold = this percentile of train_scores (linear interpolation)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  sub->add_option("--output", opts->output, "also write the result JSON to this file");
  set_action(sub, [opts] {
    metrics::OpenSetOptions options;
    options.score = metrics::parse_score_kind(opts->score);
    options.threshold_percentile = opts->percentile;
    const std::string text = metrics::evaluate_score_file(opts->input, options).dump(2) + "\n";
    if (!opts->output.empty()) fs::atomic_write_file(opts->output, text);
    std::cout << text;
    return kExitOk;
  });
}

}  // namespace hesp::cli
