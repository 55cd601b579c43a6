// `hesp`: the user-facing command line (see cli/app.h for the subcommands).
#include "cli/app.h"

int main(int argc, char** argv) { return hesp::cli::run_main(argc, argv); }
