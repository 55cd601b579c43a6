#pragma once
// The paper's ablations from an ablation sweep (configs/sweeps/ablations/): Tables 5
// (modules) and 6 (losses) in the paper's shape, rows = configurations in sweep order
// named as the paper names them, columns = AUROC and OSCR per setting and openness
// (AFEW 5:2, MAFW 8:3); and Fig. 3 (a)-(c) as grouped bars of the same numbers.
//
// What the sweep is and what its rows are called comes from sweep_summary.json's
// "report" entry (written by `hesp sweep` from the sweep config's `report` and the
// variants' `label`). The cells are those of the per-setting tables (tables.h): a cell
// averages only when all its runs are done.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/tables.h"

namespace hesp::report {

struct AblationSpec {
  std::string kind;   // "ablation_table" or "ablation_bars".
  std::string title;  // "Table 5: modules".
  struct RowSpec {
    std::string dir;    // "<method>-<variant>" folder.
    std::string label;  // The paper's row name.
  };
  std::vector<RowSpec> rows;  // Sweep order.
};

// The ablation entry of <sweep_dir>/sweep_summary.json; nullopt without a summary, without
// a "report" entry or for kind "settings". Throws UserError naming the file when the
// entry is malformed.
std::optional<AblationSpec> read_ablation_spec(const std::filesystem::path& sweep_dir);

struct AblationColumn {
  std::string setting;
  Column column;
};

struct AblationRow {
  std::string dir;
  std::string label;
  std::vector<Cell> cells;  // One per column; planned = 0 when the row has no run there.
};

struct AblationTable {
  std::string title;
  std::vector<AblationColumn> columns;  // Settings in table order, openness ascending.
  std::vector<AblationRow> rows;
};

AblationTable build_ablation_table(const AblationSpec& spec,
                                   const std::vector<SettingTable>& tables);

std::string ablation_markdown(const AblationTable& t);
std::string ablation_html(const AblationTable& t);  // A fragment.
std::string ablation_csv(const AblationTable& t);

// One metric (AUROC, else OSCR): one group of bars per column, one bar per row (its mean
// x100 with a +-std whisker); a cell that is not complete has no bar and says "n/a".
std::string ablation_bars_svg(const AblationTable& t, bool auroc);

}  // namespace hesp::report
