// `hesp metrics ...` subcommands.
#include "cli/app.h"

namespace hesp::cli {

void add_metrics_commands(CLI::App&, const GlobalOptions&) {}

}  // namespace hesp::cli
