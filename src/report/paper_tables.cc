#include "report/paper_tables.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "util/errors.h"
#include "util/fs.h"

namespace hesp::report {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

std::map<std::string, double> values_of(const json& j) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : j.items()) out[k] = v.get<double>();
  return out;
}

}  // namespace

const PublishedTable* PaperTables::table(int number) const {
  for (const auto& t : tables) {
    if (t.number == number) return &t;
  }
  return nullptr;
}

stdfs::path resolve_paper_tables_path() {
  if (const char* env = std::getenv("HESP_PAPER_TABLES"); env != nullptr && env[0] != '\0') {
    return env;
  }
  std::error_code ec;
  std::vector<stdfs::path> candidates;
  const stdfs::path exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const stdfs::path dir = exe.parent_path();
    candidates.push_back(dir / ".." / ".." / "src" / "report" / "data" / kPaperTablesFileName);
    candidates.push_back(dir / ".." / "share" / "hesp" / kPaperTablesFileName);
  }
#ifdef HESP_REPORT_DATA_DIR
  // The source tree of this build (a build directory outside the source tree).
  candidates.push_back(stdfs::path(HESP_REPORT_DATA_DIR) / kPaperTablesFileName);
#endif
  std::string tried;
  for (const stdfs::path& c : candidates) {
    if (stdfs::is_regular_file(c, ec)) return c.lexically_normal();
    tried += "\n  " + c.lexically_normal().string();
  }
  throw UserError(std::string("cannot find the paper's published tables ") + kPaperTablesFileName +
                  "; set HESP_PAPER_TABLES. Looked in:" +
                  (tried.empty() ? std::string(" (executable path unknown)") : tried));
}

PaperTables load_paper_tables(const stdfs::path& path) {
  PaperTables p;
  p.path = path;
  try {
    const json j = json::parse(fs::read_file(path));
    p.source = j.at("source").get<std::string>();
    std::map<std::string, std::string> method_of;  // Paper row name -> hesp method.
    for (const auto& [row, method] : j.at("method_keys").items()) {
      if (row != "note") method_of[row] = method.get<std::string>();
    }
    for (int n = 1; n <= 6; ++n) {
      const json& t = j.at("table" + std::to_string(n));
      PublishedTable table;
      table.number = n;
      table.setting = t.at("setting").get<std::string>();
      if (n <= 4) {
        table.columns = t.at("openness").get<std::vector<std::string>>();
        table.columns.push_back("mean");
        for (const auto& [name, row] : t.at("rows").items()) {
          PublishedRow r;
          r.name = name;
          if (const auto it = method_of.find(name); it != method_of.end()) r.method = it->second;
          r.auroc = values_of(row.at("auroc"));
          r.oscr = values_of(row.at("oscr"));
          table.rows.push_back(std::move(r));
        }
      } else {
        // Tables 5-6: means over openness, rows as printed (some without a name).
        table.columns = {"mean"};
        int index = 0;
        for (const json& row : t.at("rows")) {
          ++index;
          PublishedRow r;
          r.name = row.contains("row") ? row["row"].get<std::string>()
                                       : "row " + std::to_string(index) + " (unnamed)";
          if (const auto it = method_of.find(r.name); it != method_of.end()) r.method = it->second;
          r.auroc["mean"] = row.at("auroc").get<double>();
          r.oscr["mean"] = row.at("oscr").get<double>();
          table.rows.push_back(std::move(r));
        }
      }
      p.tables.push_back(std::move(table));
    }
  } catch (const json::exception& e) {
    throw UserError(path.string() + ": not the paper's tables (" + e.what() + ")");
  }
  // nlohmann's object iteration is alphabetical: restore the paper's printed order of the
  // rows of Tables 1-4 (the other methods, then the baselines and HESP).
  static const std::vector<std::string> order = {"ARPL",
                                                 "CSSR",
                                                 "DIAS",
                                                 "DEAR",
                                                 "Open-set FER",
                                                 "Open-VCLIP",
                                                 "Baseline 1 (only CLIP)",
                                                 "Baseline 1+HESP",
                                                 "Baseline 2 (CLIP+ARPL)",
                                                 "Baseline 2+HESP"};
  for (auto& t : p.tables) {
    if (t.number > 4) continue;
    std::stable_sort(t.rows.begin(), t.rows.end(), [](const auto& a, const auto& b) {
      const auto rank = [](const std::string& n) {
        return std::find(order.begin(), order.end(), n) - order.begin();
      };
      return rank(a.name) < rank(b.name);
    });
  }
  return p;
}

const std::vector<PaperProtocol>& paper_protocols() {
  static const std::vector<PaperProtocol> protocols = {
      {1, {"afew"}, {{"5:2", 5, 2}, {"4:3", 4, 3}, {"3:4", 3, 4}, {"2:5", 2, 5}}},
      {2, {"mafw"}, {{"8:3", 8, 3}, {"6:5", 6, 5}, {"5:6", 5, 6}, {"3:8", 3, 8}}},
      {3, {"afew", "mafw"}, {{"7:5", 7, 4}}},
      {4, {"mafw"}, {{"7:9", 7, 9}}},
  };
  return protocols;
}

}  // namespace hesp::report
