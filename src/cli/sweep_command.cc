// `hesp sweep`: the runs of a sweep config (settings x openness x splits x methods), under
// mpirun, in groups of ranks; see sweep/sweep_runner.h for the scheduling.
#include <iomanip>
#include <iostream>

#include "cli/app.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "config/experiment.pb.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_runner.h"
#include "train/trainer.h"
#include "util/errors.h"
#include "util/failpoint.h"
#include "util/logging.h"
#include "util/stop_signal.h"

namespace hesp::cli {

void add_sweep_commands(CLI::App& app, const GlobalOptions& global) {
  auto* sweep = app.add_subcommand(
      "sweep",
      "train every run of a sweep config; exit 0 when all finished, 75 when preempted, "
      "1 when a run failed (see <out>/sweep_summary.json); --dry-run/--list exit 2 when a "
      "run fails its preconditions");
  struct Options {
    std::string config, out;
    int group_size = 1;
    int run_index = -1;
    bool dry_run = false, list = false, skip_data_check = false;
  };
  auto o = std::make_shared<Options>();
  sweep->add_option("--config", o->config, "sweep config (.pbtxt, configs/sweeps/)")->required();
  sweep->add_option("--out", o->out, "output folder: <setting>/<method>/<K>-<U>/split<i>/");
  sweep->add_option("--group-size", o->group_size, "ranks per run (must divide the world size)")
      ->check(CLI::PositiveNumber);
  sweep->add_option("--run-index", o->run_index, "run only run I with every rank (job arrays)")
      ->check(CLI::NonNegativeNumber);
  sweep->add_flag("--dry-run", o->dry_run, "list the runs with their estimates; train nothing");
  sweep->add_flag("--list", o->list, "print 'index dir' per run (for SLURM job arrays)");
  sweep->add_flag("--skip-data-check", o->skip_data_check,
                  "with --dry-run/--list: do not open the datasets");
  set_action(sweep, [o, &global] {
    const bool listing = o->dry_run || o->list;
    // First thing: a stop signal while the sweep plans (and opens every dataset) is a
    // requeue (75), not a death by signal (138).
    if (!listing) util::catch_stop_signals();
    if (o->skip_data_check && !listing) {
      throw ConfigError("--skip-data-check only goes with --dry-run or --list");
    }
    if (!listing && o->out.empty()) throw ConfigError("--out is required to run a sweep");
    const std::filesystem::path config_path(o->config);
    const auto config = sweep::load_sweep_config(config_path);
    const auto plan = sweep::make_plan(config, std::filesystem::absolute(config_path).parent_path(),
                                       !o->skip_data_check);
    // Runs whose data fail their preconditions: listed, then named on stderr, exit 2.
    const auto failing = sweep::failing_preconditions(plan);
    auto report_failing = [&] {
      std::cout << std::flush;
      for (const int i : failing) {
        const auto& r = plan.runs[static_cast<size_t>(i)];
        std::cerr << "error: run " << r.index << " " << r.rel_dir.string() << ": "
                  << r.precondition_error << "\n";
      }
      if (failing.empty()) return 0;
      std::cerr << "error: " << failing.size() << " of " << plan.runs.size()
                << " run(s) fail their preconditions (a sweep marks them failed and trains the "
                   "others)"
                << std::endl;
      return static_cast<int>(kExitConfigError);
    };
    if (o->list) {
      for (const auto& r : plan.runs) std::cout << r.index << " " << r.rel_dir.string() << "\n";
      return report_failing();
    }
    if (o->dry_run) {
      std::cout << "sweep " << config.name() << ": " << plan.runs.size() << " runs\n";
      for (const int i : sweep::longest_first(plan)) {
        const auto& r = plan.runs[static_cast<size_t>(i)];
        const bool done = !o->out.empty() && sweep::run_finished(r, o->out);
        std::cout << std::setw(5) << r.index << "  " << std::left << std::setw(48)
                  << r.rel_dir.string() << std::right << " openness " << std::fixed
                  << std::setprecision(3) << r.openness << "  epochs "
                  << sweep::planned_epochs(r.exp) << "  train clips " << r.train_clips << "  est "
                  << std::setprecision(0) << r.cost << (done ? "  [finished]" : "")
                  << (r.precondition_error.empty() ? "" : "  [fails preconditions]") << "\n";
      }
      return report_failing();
    }
    // Tests of a stop signal after the planning hold the sweep here (util/failpoint.h).
    util::failpoint("sweep.planned", util::stop_requested);
    auto world = comm::world();
    logging::configure_for_rank(world->rank(), global.log_all_ranks);
    sweep::SweepOptions s;
    s.train_run = [](const config::Experiment& exp, const sweep::RunRequest& request,
                     comm::Communicator& group) {
      train::TrainOptions t;
      t.run_dir = request.run_dir;
      t.threads = request.threads;
      t.log_all_ranks = request.log_all_ranks;
      return train::run_training(exp, t, group);
    };
    s.out = std::filesystem::absolute(o->out);
    s.group_size = o->group_size;
    s.run_index = o->run_index;
    s.threads = global.threads;
    s.log_all_ranks = global.log_all_ranks;
    return sweep::run_sweep(plan, s, *world);
  });
}

}  // namespace hesp::cli
