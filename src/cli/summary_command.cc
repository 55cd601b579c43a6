// `hesp summary RUN_DIR...`: one table row per finished run (its result.json), for the
// demo and for a quick look at a few runs; `hesp report` makes the paper's tables. The
// "epoch" column names the epoch whose model the metrics are of: "12 (val)" when it was
// chosen on the validation hold-out (eval.best_by_validation), "12 (last)" otherwise.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/app.h"
#include "run/run_directory.h"
#include "run/run_result.h"

namespace hesp::cli {

void add_summary_commands(CLI::App& app, const GlobalOptions&) {
  auto* summary = app.add_subcommand("summary", "print a results table of finished runs");
  auto dirs = std::make_shared<std::vector<std::string>>();
  summary->add_option("run_dirs", *dirs, "run directories (each with result.json)")->required();
  set_action(summary, [dirs] {
    std::printf("| %-28s | %-13s | %-10s | %6s | %6s | %8s | %6s | %8s |\n", "run", "method",
                "epoch", "AUROC", "OSCR", "accuracy", "TNR95", "macro-F1");
    std::printf(
        "|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(30, '-').c_str(), std::string(15, '-').c_str(),
        std::string(12, '-').c_str(), std::string(8, '-').c_str(), std::string(8, '-').c_str(),
        std::string(10, '-').c_str(), std::string(8, '-').c_str(), std::string(10, '-').c_str());
    int missing = 0;
    for (const auto& d : *dirs) {
      const auto path = run::RunDirectory(d).result();
      if (!std::filesystem::exists(path)) {
        std::printf("| %-28s | %-13s | %-10s | %6s | %6s | %8s | %6s | %8s |\n",
                    std::filesystem::path(d).filename().c_str(), "(no result)", "-", "-", "-", "-",
                    "-", "-");
        ++missing;
        continue;
      }
      const run::RunResult r = run::read_run_result(path);
      const run::RunMetrics& m = r.metrics;
      // Result files written before model selection existed report the last epoch.
      const std::string epoch =
          std::to_string(r.selection ? r.selection->epoch : r.epochs) +
          (r.selection && r.selection->by == "validation" ? " (val)" : " (last)");
      std::printf("| %-28s | %-13s | %-10s | %6.2f | %6.2f | %8.2f | %6.2f | %8.2f |\n",
                  std::filesystem::path(d).filename().c_str(), r.method.c_str(), epoch.c_str(),
                  100 * m.auroc, 100 * m.oscr, 100 * m.closed_set_accuracy, 100 * m.tnr_at_95tpr,
                  100 * (m.at_threshold ? m.at_threshold->macro_f1 : 0.0));
    }
    return missing == 0 ? 0 : 1;
  });
}

}  // namespace hesp::cli
