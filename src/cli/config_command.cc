// `hesp config check|print`: strict parsing and validation of experiment configs.
#include <iostream>

#include "cli/app.h"
#include "config/config_loader.h"

namespace hesp::cli {

void add_config_commands(CLI::App& app, const GlobalOptions&) {
  auto* config = app.add_subcommand("config", "check or print experiment configs");
  config->require_subcommand(1);
  struct Options {
    std::string path;
    std::vector<std::string> overrides;
  };
  auto opts = std::make_shared<Options>();
  auto add_common = [opts](CLI::App* sub) {
    sub->add_option("--config,config", opts->path, "experiment config (.pbtxt)")->required();
    sub->add_option("--set", opts->overrides, "override path.to.field=value (repeatable)");
  };
  auto* check = config->add_subcommand("check", "parse and validate; exit 2 on any problem");
  add_common(check);
  set_action(check, [opts] {
    config::load_experiment(opts->path, opts->overrides);
    std::cout << opts->path << ": OK" << std::endl;
    return 0;
  });
  auto* print = config->add_subcommand(
      "print",
      "print the effective config: every field, the unset ones as comments with their "
      "defaults");
  add_common(print);
  set_action(print, [opts] {
    const auto exp = config::load_experiment(opts->path, opts->overrides);
    std::cout << config::to_text_all_fields(exp);
    return 0;
  });
}

}  // namespace hesp::cli
