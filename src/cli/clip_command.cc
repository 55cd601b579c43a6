// `hesp clip ...` subcommands.
#include "cli/app.h"

namespace hesp::cli {

void add_clip_commands(CLI::App&, const GlobalOptions&) {}

}  // namespace hesp::cli
