#pragma once
// The `hesp` command line: one CLI11 app with a subcommand per area. Each area's file
// (cli/<area>_command.cc) adds its subcommands through one of the functions below;
// main.cc only calls run_main.
#include <CLI/CLI.hpp>

#include <functional>

namespace hesp::cli {

// Flags shared by every subcommand.
struct GlobalOptions {
  int threads = 0;  // 0 = cores / local ranks.
  bool log_all_ranks = false;
};

// A subcommand body: returns the process exit code. Exceptions of type UserError are
// printed and mapped to their exit code by run_main.
using Action = std::function<int()>;

// Registers `action` as the callback of `sub`; run_main runs the chosen one.
void set_action(CLI::App* sub, Action action);

void add_config_commands(CLI::App& app, const GlobalOptions& global);
void add_comm_commands(CLI::App& app, const GlobalOptions& global);
void add_clip_commands(CLI::App& app, const GlobalOptions& global);     // cli/clip_command.cc
void add_metrics_commands(CLI::App& app, const GlobalOptions& global);  // cli/metrics_command.cc
void add_report_commands(CLI::App& app, const GlobalOptions& global);   // cli/report_command.cc
void add_train_commands(CLI::App& app, const GlobalOptions& global);    // cli/train_command.cc
void add_summary_commands(CLI::App& app, const GlobalOptions& global);  // cli/summary_command.cc
void add_sweep_commands(CLI::App& app, const GlobalOptions& global);    // cli/sweep_command.cc
void add_step_commands(CLI::App& app, const GlobalOptions& global);     // cli/step_command.cc
void add_predict_commands(CLI::App& app, const GlobalOptions& global);  // cli/predict_command.cc

// Parses argv, runs the chosen subcommand, maps errors to exit codes.
int run_main(int argc, char** argv);

}  // namespace hesp::cli
