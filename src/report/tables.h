#pragma once
// The paper's Tables 1-4 from the runs of a sweep: one table per task setting, methods as
// rows, AUROC and OSCR per openness column as mean +- sample std (n - 1) over the class
// splits (x100), plus their mean over the openness columns.
//
// Which runs a cell expects: those listed in sweep_summary.json, and otherwise every
// split index seen anywhere in the setting for every (method, openness) pair seen in it.
// A cell averages only when every expected run of it is done; otherwise it has no value
// and says how many of its runs are done, failed and missing. The same holds one level up:
// the mean over openness needs every cell of the row.
#include <optional>
#include <string>
#include <vector>

#include "report/sweep_runs.h"

namespace hesp::report {

// Mean and sample standard deviation (n - 1; 0 when n = 1). `values` non-empty.
struct MeanStd {
  double mean = 0;
  double std = 0;
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

// One done run of a cell: its (split, seed) and metrics x100; what the paired statistics
// pair on (statistics.h, comparison.h).
struct SplitValue {
  int split = 0;
  int64_t seed = -1;
  double auroc = 0, oscr = 0;
  const Run* run = nullptr;  // Into the runs build_tables was given.
};

struct Cell {
  std::vector<SplitValue> values;  // Every done run, in (split, seed) order.
  int planned = 0;
  int done = 0;
  int failed = 0;
  int missing = 0;
  // Present iff every planned run is done (x100).
  std::optional<MeanStd> auroc, oscr;
  bool complete() const { return planned > 0 && done == planned; }
};

struct Column {
  std::string label;  // "5:2" for a K-U directory, else the openness to 3 decimals.
  double openness = 0;
};

struct Row {
  std::string method;                           // hesp, clip_arpl, ...
  std::string name;                             // The paper's row name ("Baseline 2 + HESP").
  std::vector<Cell> cells;                      // One per column.
  std::optional<double> mean_auroc, mean_oscr;  // Over the columns, x100.
  int complete_columns = 0;
};

struct SettingTable {
  std::string setting;
  std::string title;                   // "Table 1: AFEW (7 basic emotions)".
  std::vector<Column> columns;         // Ascending openness.
  std::vector<Row> rows;               // Paper order: Baseline 1, Baseline 2, B1 + HESP, B2 + HESP.
  std::vector<std::string> footnotes;  // One per run that is not done, with its error.
  // Which epoch the done runs report: "last epoch (12 runs)", "chosen on validation (3
  // runs, epochs 40-95)" (spec §9), joined by "; ".
  std::string selection;
};

// The paper's name of a method's row; unknown methods keep their own name.
std::string method_row_name(const std::string& method);

// One table per setting (paper order: afew, mafw, fusion, mafw_compound, then the rest).
std::vector<SettingTable> build_tables(const std::vector<Run>& runs);

// Renderings. `markdown` and `html` show cells as "85.12 ± 1.23" or "n/a (3/5 done)";
// `csv` has one row per (setting, method, column, metric) with full precision.
std::string tables_markdown(const std::vector<SettingTable>& tables);
std::string tables_csv(const std::vector<SettingTable>& tables);
std::string tables_html(const std::vector<SettingTable>& tables);  // A fragment.

// The text of one cell's metric ("85.12 ± 1.23", "85.12 (n=1)", "n/a (3/5 done)").
std::string cell_text(const Cell& cell, const std::optional<MeanStd>& metric);

}  // namespace hesp::report
