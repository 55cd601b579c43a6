#pragma once
// The paper's published numbers (HESP, ACM MM 2024, Tables 1-6), shipped with hesp as
// src/report/data/hesp_acmmm2024_tables.json (installed to <prefix>/share/hesp/), and what
// a run must match to be compared with them (docs/report.md, "Against the paper").
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hesp::report {

inline constexpr const char* kPaperTablesFileName = "hesp_acmmm2024_tables.json";

// One published row: the paper's row name, the hesp method playing that role ("" for the
// methods hesp does not run: ARPL, CSSR, ...) and its values x100 by the paper's column
// label ("5:2", ..., "mean"; Tables 5-6 have "mean" only).
struct PublishedRow {
  std::string name;
  std::string method;
  std::map<std::string, double> auroc, oscr;
};

// The protocol of a published table: which packed datasets (manifest source_format, in
// data.manifests order) and which class counts. known_total = K + U for every column
// (Tables 1-2), or fixed K and U (Tables 3-4: one column).
struct PublishedTable {
  int number = 0;                    // 1..6.
  std::string setting;               // The paper's words ("AFEW, 7 basic emotions").
  std::vector<std::string> columns;  // The paper's labels in its order ("5:2", ...).
  std::vector<PublishedRow> rows;    // The paper's order.
};

struct PaperTables {
  std::string source;  // The citation line of the data file.
  std::filesystem::path path;
  std::vector<PublishedTable> tables;  // Tables 1-6 in order.
  const PublishedTable* table(int number) const;
};

// $HESP_PAPER_TABLES when set; else the shipped file next to the running executable
// (<exe dir>/../../src/report/data/, <exe dir>/../share/hesp/) or in the source tree this
// hesp was built from. Throws UserError listing the places it looked when none exists.
std::filesystem::path resolve_paper_tables_path();

// Parses the data file; throws UserError naming it when it is not the expected shape.
PaperTables load_paper_tables(const std::filesystem::path& path);

// The protocol a sweep setting's runs must match for a published table (1-4): the packed
// datasets (manifest source formats, as a sorted list) and the class counts of each of the
// table's columns. The fusion table (3) is printed as O(7:5) but its setting names 7 known
// and 4 MAFW-only unknown classes: runs at K:U = 7:4 are its column.
struct PaperProtocol {
  int table = 0;
  std::vector<std::string> datasets;  // Sorted: {"afew"}, {"mafw"}, {"afew", "mafw"}.
  struct ColumnCounts {
    std::string paper_label;  // "7:5".
    int known = 0, unknown = 0;
  };
  std::vector<ColumnCounts> columns;
};
const std::vector<PaperProtocol>& paper_protocols();

// The CLIP architecture of the paper's numbers.
inline constexpr const char* kPaperClipArchitecture = "ViT-B/32";

}  // namespace hesp::report
