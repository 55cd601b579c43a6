#include "report/ablations.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

#include "report/figures.h"
#include "report/xml_text.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::report {
namespace {

namespace stdfs = std::filesystem;

std::string column_name(const AblationColumn& c) { return c.setting + " " + c.column.label; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string full(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A cell's text; a row without runs in a column (e.g. a setting it was not planned in).
std::string text(const Cell& c, const std::optional<MeanStd>& m) {
  return c.planned == 0 ? "—" : cell_text(c, m);
}

}  // namespace

std::optional<AblationSpec> read_ablation_spec(const stdfs::path& sweep_dir) {
  const auto path = sweep_dir / "sweep_summary.json";
  if (!stdfs::exists(path)) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path.string() + ": not JSON (" + e.what() + ")");
  }
  if (!j.contains("report")) return std::nullopt;
  AblationSpec spec;
  try {
    const auto& r = j.at("report");
    spec.kind = r.at("kind").get<std::string>();
    if (spec.kind == "settings") return std::nullopt;
    if (spec.kind != "ablation_table" && spec.kind != "ablation_bars") {
      throw UserError(path.string() + ": report.kind '" + spec.kind +
                      "' is not settings, ablation_table or ablation_bars");
    }
    spec.title = r.at("title").get<std::string>();
    for (const auto& row : r.at("rows")) {
      spec.rows.push_back({row.at("dir").get<std::string>(), row.at("label").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path.string() + ": malformed report entry (" + e.what() + ")");
  }
  return spec;
}

AblationTable build_ablation_table(const AblationSpec& spec,
                                   const std::vector<SettingTable>& tables) {
  AblationTable t;
  t.title = spec.title;
  for (const SettingTable& st : tables) {
    for (const Column& c : st.columns) t.columns.push_back({st.setting, c});
  }
  for (const auto& rs : spec.rows) {
    AblationRow row;
    row.dir = rs.dir;
    row.label = rs.label;
    for (const SettingTable& st : tables) {
      const Row* found = nullptr;
      for (const Row& r : st.rows) {
        if (r.method == rs.dir) found = &r;
      }
      for (size_t i = 0; i < st.columns.size(); ++i) {
        row.cells.push_back(found ? found->cells[i] : Cell{});
      }
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string ablation_markdown(const AblationTable& t) {
  std::ostringstream md;
  md << "## " << t.title << "\n\nAUROC and OSCR x100: mean ± sample std (n - 1) over the class "
     << "splits.\n\n| Configuration |";
  for (const auto& c : t.columns)
    md << " " << column_name(c) << " AUROC | " << column_name(c) << " OSCR |";
  md << "\n|---|";
  for (size_t i = 0; i < t.columns.size(); ++i) md << "---|---|";
  md << "\n";
  for (const auto& r : t.rows) {
    md << "| " << r.label << " |";
    for (const Cell& c : r.cells) md << " " << text(c, c.auroc) << " | " << text(c, c.oscr) << " |";
    md << "\n";
  }
  return md.str() + "\n";
}

std::string ablation_html(const AblationTable& t) {
  std::ostringstream h;
  h << "<h2>" << xml_escape(t.title) << "</h2>\n<table class=\"results ablation\">\n"
    << "<thead><tr><th rowspan=\"2\">Configuration</th>";
  for (const auto& c : t.columns) {
    h << "<th colspan=\"2\">" << xml_escape(column_name(c)) << "</th>";
  }
  h << "</tr>\n<tr>";
  for (size_t i = 0; i < t.columns.size(); ++i) h << "<th>AUROC</th><th>OSCR</th>";
  h << "</tr></thead>\n<tbody>\n";
  for (const auto& r : t.rows) {
    h << "<tr><th scope=\"row\">" << xml_escape(r.label) << "</th>";
    for (const Cell& c : r.cells) {
      const char* cls = c.complete() ? "" : " class=\"na\"";
      h << "<td" << cls << ">" << xml_escape(text(c, c.auroc)) << "</td><td" << cls << ">"
        << xml_escape(text(c, c.oscr)) << "</td>";
    }
    h << "</tr>\n";
  }
  h << "</tbody></table>\n";
  return h.str();
}

std::string ablation_csv(const AblationTable& t) {
  std::ostringstream csv;
  csv << "table,configuration,dir,setting,column,metric,mean_x100,std_x100,n_done,n_planned\n";
  for (const auto& r : t.rows) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const Cell& c = r.cells[i];
      for (const auto& [name, m] : {std::pair{"auroc", c.auroc}, std::pair{"oscr", c.oscr}}) {
        csv << csv_field(t.title) << "," << csv_field(r.label) << "," << csv_field(r.dir) << ","
            << csv_field(t.columns[i].setting) << "," << csv_field(t.columns[i].column.label) << ","
            << name << "," << (m ? full(m->mean) : "") << "," << (m && m->n > 1 ? full(m->std) : "")
            << "," << c.done << "," << c.planned << "\n";
      }
    }
  }
  return csv.str();
}

std::string ablation_bars_svg(const AblationTable& t, bool auroc) {
  std::vector<std::string> groups, series;
  for (const auto& c : t.columns) groups.push_back(column_name(c));
  std::vector<std::vector<std::optional<BarValue>>> values;
  for (const auto& r : t.rows) {
    series.push_back(r.label);
    std::vector<std::optional<BarValue>> row;
    for (const Cell& c : r.cells) {
      const auto& m = auroc ? c.auroc : c.oscr;
      row.push_back(c.complete() && m ? std::optional<BarValue>(BarValue{m->mean, m->std})
                                      : std::nullopt);
    }
    values.push_back(std::move(row));
  }
  const std::string metric = auroc ? "AUROC" : "OSCR";
  return grouped_bars_svg(t.title + " — " + metric, metric + " (x100)", groups, series, values);
}

}  // namespace hesp::report
