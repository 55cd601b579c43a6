// hesp-pack: converts AFEW / MAFW / DFEW / FERV39k trees and annotation lists into
// sharded HDF5 (see docs/datasets.md). Subcommands are added as they land.
#include <CLI/CLI.hpp>

#include <iostream>

#include "util/errors.h"
#include "util/logging.h"

int main(int argc, char** argv) {
  hesp::logging::init(argv[0]);
  CLI::App app{"hesp-pack: convert facial-expression video datasets into sharded HDF5"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return hesp::kExitConfigError;
  }
  return 0;
}
