#pragma once
// `hesp report`: the paper's tables and figures from a sweep directory (docs/report.md).
#include <filesystem>
#include <string>
#include <vector>

namespace hesp::report {

struct ReportOptions {
  std::filesystem::path sweep_dir;
  std::filesystem::path out_dir;  // Empty = <sweep_dir>/report.
  std::vector<std::string> formats = {"md", "csv", "html"};
};

struct ReportOutput {
  std::filesystem::path out_dir;
  std::vector<std::filesystem::path> files;  // Everything written, tables then figures.
  int runs_done = 0;
  int runs_not_done = 0;
};

// Splits "md,csv,html" into its formats; throws ConfigError on an unknown or empty one.
std::vector<std::string> parse_formats(const std::string& list);

// Loads the sweep, writes tables.md / tables.csv, paper_comparison.csv, paired_tests.csv /
// index.html (as asked) and the SVG figures under out_dir/figures/; tables.md and index.html
// end with the comparison with the paper and the paired tests (comparison.h). Throws
// UserError for a missing or empty sweep, for a malformed result.json (naming the file) and
// when the shipped published tables cannot be found or read (paper_tables.h).
ReportOutput write_report(const ReportOptions& options);

}  // namespace hesp::report
