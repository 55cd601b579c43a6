#include "cli/app.h"

#include <glog/logging.h>

#include <iostream>
#include <map>

#include "comm/job_end.h"
#include "comm/root_decision.h"
#include "util/errors.h"
#include "util/logging.h"

namespace hesp::cli {
namespace {

std::map<const CLI::App*, Action>& actions() {
  static std::map<const CLI::App*, Action> map;
  return map;
}

}  // namespace

void set_action(CLI::App* sub, Action action) { actions()[sub] = std::move(action); }

int run_main(int argc, char** argv) {
  logging::init(argv[0]);
  CLI::App app{
      "hesp: open-set video facial expression recognition with Human Expression-Sensitive "
      "Prompting (HESP) on a frozen CLIP"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--threads", global.threads,
                 "threads per rank (OpenMP, OpenBLAS, torch); default cores / local ranks");
  app.add_flag("--log-all-ranks", global.log_all_ranks,
               "INFO logs from every rank on stderr (default: rank 0 only)");
  add_config_commands(app, global);
  add_comm_commands(app, global);
  add_clip_commands(app, global);
  add_metrics_commands(app, global);
  add_report_commands(app, global);
  add_train_commands(app, global);
  add_summary_commands(app, global);
  add_sweep_commands(app, global);
  add_step_commands(app, global);
  add_predict_commands(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitConfigError;
  }
  // The chosen leaf subcommand: the deepest one that was parsed.
  const CLI::App* chosen = &app;
  while (!chosen->get_subcommands().empty()) chosen = chosen->get_subcommands().front();
  auto it = actions().find(chosen);
  if (it == actions().end()) {
    std::cerr << chosen->help() << std::endl;
    return kExitConfigError;
  }
  // An error that escapes the command ends this process, and, when it may be this rank's
  // alone, the whole MPI job at once (comm::end_job_after_error): the other ranks would
  // otherwise wait for this one in their next collective.
  try {
    return it->second();
  } catch (const UserError& e) {
    return comm::end_job_after_error(e.what(), e.exit_code(), comm::raised_on_every_rank(e));
  } catch (const std::exception& e) {
    return comm::end_job_after_error(e.what(), kExitFailure, false);
  }
}

}  // namespace hesp::cli
