#include "report/tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "config/method_traits.h"
#include "report/text_format.h"
#include "report/xml_text.h"

namespace hesp::report {
namespace {

// Columns are told apart by their openness to 4 decimals (as RunKey matches runs).
int64_t bucket(double openness) { return std::llround(openness * 1e4); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The paper's order of settings and of methods; the rest follow alphabetically.
int setting_rank(const std::string& s) {
  static const std::vector<std::string> order = {"afew", "mafw", "fusion", "mafw_compound"};
  const auto it = std::find(order.begin(), order.end(), lower(s));
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

// "<method>-<variant>" -> ("<method>", "<variant>").
std::pair<std::string, std::string> split_variant(const std::string& dir) {
  const auto dash = dir.find('-');
  if (dash == std::string::npos) return {dir, ""};
  return {dir.substr(0, dash), dir.substr(dash + 1)};
}

// A method's paper row (config/method_traits.h); unknown methods after every known one.
int method_rank(const std::string& m) {
  const config::MethodTraits* traits = config::method_traits_by_name(split_variant(m).first);
  return traits ? traits->paper_row : static_cast<int>(config::methods_in_paper_order().size());
}

std::string setting_title(const std::string& setting, int number) {
  const std::string s = lower(setting);
  std::string what = setting;
  if (s == "afew") what = "AFEW (7 basic emotions)";
  if (s == "mafw") what = "MAFW (11 single emotions)";
  if (s == "fusion") what = "AFEW + MAFW fusion (openness of the actual K:U)";
  if (s == "mafw_compound") what = "MAFW compound (7 basic known, compound unknown)";
  return "Table " + std::to_string(number) + ": " + what;
}

// "5:2" for a K-U directory name, else the openness to 3 decimals.
std::string column_label(const std::string& dir, double openness) {
  const auto dash = dir.find_first_of("-:");
  if (dash != std::string::npos && dir.find('.') == std::string::npos) {
    return dir.substr(0, dash) + ":" + dir.substr(dash + 1);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "O=%.3f", openness);
  return buf;
}

std::string status_text(const Run* run) {
  if (!run) return "missing (no result.json, not in sweep_summary.json)";
  if (run->status == RunStatus::kFailed) {
    return run->error.empty() ? "failed" : "failed (" + run->error + ")";
  }
  return run->sweep_status.empty() ? "missing" : "missing (" + run->sweep_status + ")";
}

std::string mean_text(const Row& row, const std::optional<double>& mean, size_t columns) {
  if (mean) return fixed2(*mean);
  return "n/a (" + std::to_string(row.complete_columns) + "/" + std::to_string(columns) +
         " openness complete)";
}

}  // namespace

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  r.n = static_cast<int>(values.size());
  if (values.empty()) return r;
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / r.n;
  if (r.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(ss / (r.n - 1));
  }
  return r;
}

std::string method_row_name(const std::string& dir) {
  const auto [method, variant] = split_variant(dir);
  if (!variant.empty()) return method_row_name(method) + " [" + variant + "]";
  const config::MethodTraits* traits = config::method_traits_by_name(method);
  return traits ? traits->paper_name : method;
}

std::string cell_text(const Cell& cell, const std::optional<MeanStd>& metric) {
  if (!cell.complete() || !metric) {
    std::string why;
    if (cell.failed) why += ", " + std::to_string(cell.failed) + " failed";
    if (cell.missing) why += ", " + std::to_string(cell.missing) + " missing";
    return "n/a (" + std::to_string(cell.done) + "/" + std::to_string(cell.planned) + " done" +
           why + ")";
  }
  if (metric->n == 1) return fixed2(metric->mean) + " (n=1)";
  return fixed2(metric->mean) + " ± " + fixed2(metric->std);
}

std::vector<SettingTable> build_tables(const std::vector<Run>& runs) {
  std::set<std::string> settings;
  for (const Run& r : runs) settings.insert(r.key.setting);
  std::vector<std::string> ordered(settings.begin(), settings.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return setting_rank(a) < setting_rank(b); });

  std::vector<SettingTable> tables;
  for (const std::string& setting : ordered) {
    SettingTable t;
    t.setting = setting;
    t.title = setting_title(setting, static_cast<int>(tables.size()) + 1);
    std::set<std::string> methods;
    std::set<std::pair<int, int64_t>> splits;             // (split, seed)
    std::vector<int64_t> last_epoch_runs, chosen_epochs;  // Reported epoch of each done run.
    std::map<int64_t, Column> columns;
    std::map<std::tuple<std::string, int64_t, std::pair<int, int64_t>>, const Run*> by_key;
    for (const Run& r : runs) {
      if (r.key.setting != setting) continue;
      methods.insert(r.key.method);
      splits.insert({r.key.split, r.key.seed});
      const int64_t b = bucket(r.key.openness);
      const std::string label = column_label(r.key.openness_dir, r.key.openness);
      auto [it, fresh] = columns.emplace(b, Column{label, r.key.openness});
      // Prefer the paper's "K:U" label when the same column appears under both namings.
      if (!fresh && label.find(':') != std::string::npos) it->second.label = label;
      by_key[{r.key.method, b, {r.key.split, r.key.seed}}] = &r;
    }
    for (const auto& [b, c] : columns) t.columns.push_back(c);
    std::vector<std::string> mlist(methods.begin(), methods.end());
    std::stable_sort(mlist.begin(), mlist.end(),
                     [](const auto& a, const auto& b) { return method_rank(a) < method_rank(b); });
    for (const std::string& method : mlist) {
      Row row;
      row.method = method;
      row.name = method_row_name(method);
      std::vector<double> col_auroc, col_oscr;
      for (const auto& [b, column] : columns) {
        Cell cell;
        std::vector<double> auroc, oscr;
        for (const auto& split : splits) {
          ++cell.planned;
          auto it = by_key.find({method, b, split});
          const Run* run = it == by_key.end() ? nullptr : it->second;
          const RunStatus status = run ? run->status : RunStatus::kMissing;
          if (status == RunStatus::kDone) {
            ++cell.done;
            (run->result->chosen_on_validation ? chosen_epochs : last_epoch_runs)
                .push_back(run->result->selection_epoch);
            auroc.push_back(100.0 * run->result->auroc);
            oscr.push_back(100.0 * run->result->oscr);
            cell.values.push_back({split.first, split.second, auroc.back(), oscr.back(), run});
            continue;
          }
          (status == RunStatus::kFailed ? cell.failed : cell.missing)++;
          std::string where =
              row.name + ", " + column.label + ", split " + std::to_string(split.first);
          if (split.second >= 0) where += " seed " + std::to_string(split.second);
          t.footnotes.push_back(where + ": " + status_text(run));
        }
        if (cell.complete()) {
          cell.auroc = mean_std(auroc);
          cell.oscr = mean_std(oscr);
          col_auroc.push_back(cell.auroc->mean);
          col_oscr.push_back(cell.oscr->mean);
          ++row.complete_columns;
        }
        row.cells.push_back(cell);
      }
      if (row.complete_columns == static_cast<int>(columns.size())) {
        row.mean_auroc = mean_std(col_auroc).mean;
        row.mean_oscr = mean_std(col_oscr).mean;
      }
      t.rows.push_back(std::move(row));
    }
    if (!last_epoch_runs.empty()) {
      t.selection = "last epoch (" + std::to_string(last_epoch_runs.size()) + " runs)";
    }
    if (!chosen_epochs.empty()) {
      const auto [lo, hi] = std::minmax_element(chosen_epochs.begin(), chosen_epochs.end());
      t.selection += (t.selection.empty() ? "" : "; ") + std::string("chosen on validation (") +
                     std::to_string(chosen_epochs.size()) + " runs, epochs " + std::to_string(*lo) +
                     (*lo == *hi ? "" : "-" + std::to_string(*hi)) + ")";
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

std::string tables_markdown(const std::vector<SettingTable>& tables) {
  std::ostringstream md;
  md << "# HESP open-set results\n\n"
     << "AUROC and OSCR x100: mean ± sample standard deviation (n - 1) over the class splits "
        "of each openness; Mean = mean of the per-openness means. A cell averages only when "
        "all its splits are done; otherwise it shows n/a with the count, and † lists the runs "
        "that are not done. Openness O(K:U) = 1 - sqrt(K / (K + U)).\n\n";
  for (const SettingTable& t : tables) {
    md << "## " << t.title << "\n\nOpenness:";
    for (const Column& c : t.columns) md << " " << c.label << " = " << fixed2(c.openness);
    md << "\n\n| Method |";
    for (const Column& c : t.columns) md << " " << c.label << " AUROC | " << c.label << " OSCR |";
    md << " Mean AUROC | Mean OSCR |\n|---|";
    for (size_t i = 0; i < t.columns.size(); ++i) md << "---|---|";
    md << "---|---|\n";
    for (const Row& r : t.rows) {
      md << "| " << r.name << " |";
      for (const Cell& c : r.cells) {
        const char* dagger = c.complete() ? "" : " †";
        md << " " << cell_text(c, c.auroc) << dagger << " | " << cell_text(c, c.oscr) << dagger
           << " |";
      }
      md << " " << mean_text(r, r.mean_auroc, t.columns.size()) << " | "
         << mean_text(r, r.mean_oscr, t.columns.size()) << " |\n";
    }
    if (!t.selection.empty()) md << "\nReported epoch: " << t.selection << ".\n";
    if (!t.footnotes.empty()) {
      md << "\n† Runs not done:\n";
      for (const std::string& f : t.footnotes) md << "- " << f << "\n";
    }
    md << "\n";
  }
  return md.str();
}

std::string tables_csv(const std::vector<SettingTable>& tables) {
  std::ostringstream csv;
  csv << "setting,method,row_name,column,openness,metric,mean_x100,std_x100,n_done,n_planned,"
         "n_failed,n_missing\n";
  for (const SettingTable& t : tables) {
    for (const Row& r : t.rows) {
      const std::string head =
          csv_field(t.setting) + "," + csv_field(r.method) + "," + csv_field(r.name) + ",";
      for (size_t i = 0; i < t.columns.size(); ++i) {
        const Cell& c = r.cells[i];
        for (const auto& [name, m] : {std::pair{"auroc", c.auroc}, std::pair{"oscr", c.oscr}}) {
          csv << head << csv_field(t.columns[i].label) << "," << full(t.columns[i].openness) << ","
              << name << "," << (m ? full(m->mean) : "") << ","
              << (m && m->n > 1 ? full(m->std) : "") << "," << c.done << "," << c.planned << ","
              << c.failed << "," << c.missing << "\n";
        }
      }
      for (const auto& [name, m] :
           {std::pair{"auroc", r.mean_auroc}, std::pair{"oscr", r.mean_oscr}}) {
        csv << head << "mean,," << name << "," << (m ? full(*m) : "") << ",," << r.complete_columns
            << "," << t.columns.size() << ",,\n";
      }
    }
  }
  return csv.str();
}

std::string tables_html(const std::vector<SettingTable>& tables) {
  std::ostringstream h;
  for (const SettingTable& t : tables) {
    h << "<h2>" << xml_escape(t.title) << "</h2>\n<table class=\"results\" id=\"table-"
      << xml_escape(t.setting) << "\">\n<thead><tr><th rowspan=\"2\">Method</th>";
    for (const Column& c : t.columns) {
      h << "<th colspan=\"2\">" << xml_escape(c.label) << " (O=" << fixed2(c.openness) << ")</th>";
    }
    h << "<th colspan=\"2\">Mean</th></tr>\n<tr>";
    for (size_t i = 0; i <= t.columns.size(); ++i) h << "<th>AUROC</th><th>OSCR</th>";
    h << "</tr></thead>\n<tbody>\n";
    for (const Row& r : t.rows) {
      h << "<tr><th scope=\"row\">" << xml_escape(r.name) << "</th>";
      for (const Cell& c : r.cells) {
        const char* cls = c.complete() ? "" : " class=\"na\"";
        h << "<td" << cls << ">" << xml_escape(cell_text(c, c.auroc)) << "</td><td" << cls << ">"
          << xml_escape(cell_text(c, c.oscr)) << "</td>";
      }
      h << "<td>" << xml_escape(mean_text(r, r.mean_auroc, t.columns.size())) << "</td><td>"
        << xml_escape(mean_text(r, r.mean_oscr, t.columns.size())) << "</td></tr>\n";
    }
    h << "</tbody></table>\n";
    if (!t.selection.empty()) {
      h << "<p class=\"selection\">Reported epoch: " << xml_escape(t.selection) << ".</p>\n";
    }
    if (!t.footnotes.empty()) {
      h << "<p class=\"footnote\">Runs not done:</p>\n<ul class=\"footnote\">\n";
      for (const std::string& f : t.footnotes) h << "<li>" << xml_escape(f) << "</li>\n";
      h << "</ul>\n";
    }
  }
  return h.str();
}

}  // namespace hesp::report
