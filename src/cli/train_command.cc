// `hesp train`: one run (one method, one open-set split), under mpirun or as one process.
#include "cli/app.h"
#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "config/config_loader.h"
#include "train/trainer.h"
#include "util/logging.h"
#include "util/stop_signal.h"

namespace hesp::cli {

void add_train_commands(CLI::App& app, const GlobalOptions& global) {
  auto* train = app.add_subcommand(
      "train",
      "train and evaluate one run; exit 0 when finished, 75 after a preemption checkpoint");
  struct Options {
    std::string config, run_dir;
    std::vector<std::string> overrides;
    bool force = false;
    int max_epochs = 0;
  };
  auto o = std::make_shared<Options>();
  train->add_option("--config", o->config, "experiment config (.pbtxt)")->required();
  train
      ->add_option("--run-dir", o->run_dir,
                   "run directory (created; resumed when it has checkpoints)")
      ->required();
  train->add_option("--set", o->overrides, "override path.to.field=value (repeatable)");
  train->add_flag("--force", o->force, "resume even if the config or the data changed");
  train->add_option("--max-epochs-this-run", o->max_epochs,
                    "checkpoint and exit 75 after this many epochs (for testing resumes)");
  set_action(train, [o, &global] {
    // First thing: a stop signal while CLIP loads or the CAM boxes are computed is acted on
    // after the set-up (exit 75) instead of killing the rank; one that arrives after the
    // run has finished, while MPI shuts down, is ignored.
    util::catch_stop_signals();
    auto world = comm::world();
    logging::configure_for_rank(world->rank(), global.log_all_ranks);
    const auto exp = config::load_experiment(o->config, o->overrides);
    train::TrainOptions t;
    t.run_dir = o->run_dir;
    t.force = o->force;
    t.log_all_ranks = global.log_all_ranks;
    t.threads = global.threads;
    t.max_epochs_this_run = o->max_epochs;
    return train::run_training(exp, t, *world);
  });
}

}  // namespace hesp::cli
