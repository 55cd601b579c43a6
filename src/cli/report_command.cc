// `hesp report D [--out DIR] [--format md,csv,html]`: the paper's tables (AUROC / OSCR per
// setting and openness) and SVG figures from the runs of a sweep directory, the published
// values beside them where the runs match the paper's protocol, and HESP against its
// baseline paired by split (docs/report.md).
#include <iostream>
#include <string>

#include "cli/app.h"
#include "report/report.h"
#include "util/errors.h"

namespace hesp::cli {

void add_report_commands(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string sweep_dir;
    std::string out;
    std::string formats = "md,csv,html";
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "report",
      "tables (Tables 1-4 shape), SVG figures, the paper's values beside comparable runs "
      "(95% t intervals) and HESP vs its baseline paired by split (exact sign-flip test)");
  sub->add_option("sweep_dir", opts->sweep_dir,
                  "sweep directory: <D>/<setting>/<method>/<K-U>/split<i>/result.json")
      ->required();
  sub->add_option("--out", opts->out, "output directory (default <sweep_dir>/report)");
  sub->add_option("--format", opts->formats, "comma-separated: md, csv, html")
      ->capture_default_str();
  set_action(sub, [opts] {
    report::ReportOptions options;
    options.sweep_dir = opts->sweep_dir;
    options.out_dir = opts->out;
    options.formats = report::parse_formats(opts->formats);
    const report::ReportOutput out = report::write_report(options);
    std::cout << "report: " << out.runs_done << " runs done, " << out.runs_not_done
              << " not done -> " << out.out_dir.string() << "\n";
    for (const auto& f : out.files) std::cout << "  " << f.string() << "\n";
    return kExitOk;
  });
}

}  // namespace hesp::cli
