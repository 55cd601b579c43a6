#include "report/comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "config/method_traits.h"
#include "report/figures.h"
#include "report/text_format.h"
#include "report/xml_text.h"

namespace hesp::report {
namespace {

std::string signed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f", v);
  return buf;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string ci_text(const std::optional<TInterval>& ci) {
  if (!ci) return "—";
  return "[" + fixed2(ci->low) + ", " + fixed2(ci->high) + "]";
}

// "hesp" -> its directory's base method ("hesp-text" -> "hesp").
std::string base_method(const std::string& dir) { return dir.substr(0, dir.find('-')); }

// The class counts of a column: those of its first done run.
std::optional<std::pair<int, int>> column_counts(const SettingTable& t, size_t column) {
  for (const Row& r : t.rows) {
    for (const SplitValue& v : r.cells[column].values) {
      const RunResult& res = *v.run->result;
      return std::pair{static_cast<int>(res.known_classes.size()),
                       static_cast<int>(res.unknown_classes.size())};
    }
  }
  return std::nullopt;
}

// Which published table (1-4) a setting's done runs match, with the paper's label of each
// of its columns ("" = the paper has no such column); or the reasons they match none.
struct Match {
  int table = 0;
  std::vector<std::string> paper_columns;
  std::vector<std::string> why_not, notes;
};

Match match_protocol(const SettingTable& t) {
  Match m;
  int runs = 0, without = 0;
  std::set<std::string> architectures;
  std::set<std::vector<std::string>> dataset_sets;
  for (const Row& r : t.rows) {
    for (const Cell& c : r.cells) {
      for (const SplitValue& v : c.values) {
        ++runs;
        const auto& p = v.run->result->protocol;
        if (!p) {
          ++without;
          continue;
        }
        architectures.insert(p->clip_architecture);
        auto d = p->datasets;
        std::sort(d.begin(), d.end());
        dataset_sets.insert(d);
      }
    }
  }
  if (runs == 0) {
    m.why_not.push_back("no run of this setting is done");
    return m;
  }
  if (without > 0) {
    m.why_not.push_back(std::to_string(without) + " of " + std::to_string(runs) +
                        " done runs' result.json record no protocol (CLIP architecture, "
                        "datasets): written by an older hesp; rerun them to compare");
  }
  for (const auto& a : architectures) {
    if (a != kPaperClipArchitecture) {
      m.why_not.push_back(std::string("CLIP architecture ") + a + " (the paper's numbers are " +
                          kPaperClipArchitecture + ")");
    }
  }
  if (dataset_sets.size() > 1) {
    m.why_not.push_back("the runs were trained on different datasets");
  }
  // The table whose datasets and class counts the columns have.
  std::vector<std::pair<int, int>> counts;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    counts.push_back(column_counts(t, i).value_or(std::pair{-1, -1}));
  }
  const PaperProtocol* found = nullptr;
  if (dataset_sets.size() == 1) {
    const auto& datasets = *dataset_sets.begin();
    for (const PaperProtocol& p : paper_protocols()) {
      if (p.datasets != datasets) continue;
      bool any = false;
      for (const auto& [k, u] : counts) {
        for (const auto& pc : p.columns) any = any || (pc.known == k && pc.unknown == u);
      }
      // Tables 1-2 draw K and U from all of the dataset's classes (K + U = 7 or 11).
      bool same_total = true;
      if (p.table <= 2) {
        const int total = p.columns.front().known + p.columns.front().unknown;
        for (const auto& [k, u] : counts) same_total = same_total && (k < 0 || k + u == total);
      }
      if (any && same_total) found = &p;
    }
    if (!found) {
      std::string ku;
      for (size_t i = 0; i < counts.size(); ++i) {
        ku += (i ? ", " : "") + std::to_string(counts[i].first) + ":" +
              std::to_string(counts[i].second);
      }
      m.why_not.push_back("datasets " + join(datasets, " + ") + " with K:U " + ku +
                          ": no published table has this protocol (Table 1: AFEW, K + U = 7; "
                          "Table 2: MAFW single labels, K + U = 11; Table 3: AFEW + MAFW, "
                          "7:4; Table 4: MAFW compound, 7:9)");
    }
  }
  if (!found) return m;
  m.paper_columns.assign(t.columns.size(), "");
  for (size_t i = 0; i < counts.size(); ++i) {
    for (const auto& pc : found->columns) {
      if (pc.known == counts[i].first && pc.unknown == counts[i].second) {
        m.paper_columns[i] = pc.paper_label;
      }
    }
    if (m.paper_columns[i].empty()) {
      m.notes.push_back("column " + t.columns[i].label + ": the paper's Table " +
                        std::to_string(found->table) + " has no such openness");
    } else if (m.paper_columns[i] != t.columns[i].label) {
      m.notes.push_back("column " + t.columns[i].label + " is the paper's " + m.paper_columns[i] +
                        (found->table == 3 ? " (printed O(7:5); its setting has 4 unknown "
                                             "MAFW-only emotions: K:U = 7:4)"
                                           : ""));
    }
  }
  if (m.why_not.empty()) m.table = found->table;
  return m;
}

CompareCell compare_cell(const Cell& cell, const std::optional<MeanStd>& metric, bool auroc,
                         const std::string& column) {
  CompareCell c;
  c.column = column;
  c.n = static_cast<int>(cell.values.size());
  if (cell.complete() && metric) {
    c.mean = metric->mean;
    std::vector<double> v;
    for (const SplitValue& s : cell.values) v.push_back(auroc ? s.auroc : s.oscr);
    c.ci = t_interval(v);
  } else {
    c.not_available = cell_text(cell, std::nullopt);
  }
  return c;
}

// The mean over openness: per (split, seed), the mean of its values over the columns; the
// interval is over those per-split means. Only when every cell of the row is complete.
CompareCell mean_cell(const Row& row, bool auroc, size_t columns) {
  CompareCell c;
  c.column = "mean";
  const auto& mean = auroc ? row.mean_auroc : row.mean_oscr;
  if (!mean) {
    c.not_available = "n/a (" + std::to_string(row.complete_columns) + "/" +
                      std::to_string(columns) + " openness complete)";
    return c;
  }
  std::map<std::pair<int, int64_t>, std::pair<double, int>> per_split;
  for (const Cell& cell : row.cells) {
    for (const SplitValue& s : cell.values) {
      auto& [sum, count] = per_split[{s.split, s.seed}];
      sum += auroc ? s.auroc : s.oscr;
      ++count;
    }
  }
  std::vector<double> v;
  for (const auto& [key, sc] : per_split) {
    if (sc.second == static_cast<int>(columns)) v.push_back(sc.first / sc.second);
  }
  c.mean = *mean;
  c.n = static_cast<int>(v.size());
  c.ci = t_interval(v);
  return c;
}

SettingComparison compare_setting(const SettingTable& t, const PaperTables& paper) {
  SettingComparison s;
  s.setting = t.setting;
  s.title = t.title;
  const Match m = match_protocol(t);
  s.paper_table = m.table;
  s.why_not = m.why_not;
  s.notes = m.notes;
  s.paper_columns = m.paper_columns;
  const PublishedTable* published = m.table ? paper.table(m.table) : nullptr;
  // The paper's mean over openness is comparable only when the columns are the paper's.
  bool same_columns = published != nullptr;
  if (published) {
    std::set<std::string> ours(m.paper_columns.begin(), m.paper_columns.end());
    std::set<std::string> theirs(published->columns.begin(), published->columns.end() - 1);
    same_columns = ours == theirs && m.paper_columns.size() == theirs.size();
  }
  std::set<std::string> run_methods;
  for (const Row& row : t.rows) {
    CompareRow r;
    r.method = row.method;
    r.name = row.name;
    const PublishedRow* prow = nullptr;
    if (published && row.method == base_method(row.method)) {
      for (const auto& pr : published->rows) {
        if (!pr.method.empty() && pr.method == row.method) prow = &pr;
      }
    }
    if (prow) {
      r.paper_name = prow->name;
      run_methods.insert(row.method);
    }
    for (const bool auroc : {true, false}) {
      auto& cells = auroc ? r.auroc : r.oscr;
      for (size_t i = 0; i < t.columns.size(); ++i) {
        const Cell& cell = row.cells[i];
        CompareCell c =
            compare_cell(cell, auroc ? cell.auroc : cell.oscr, auroc, t.columns[i].label);
        if (prow && !m.paper_columns[i].empty()) {
          const auto& values = auroc ? prow->auroc : prow->oscr;
          c.paper_column = m.paper_columns[i];
          if (const auto it = values.find(c.paper_column); it != values.end()) c.paper = it->second;
        }
        cells.push_back(std::move(c));
      }
      CompareCell c = mean_cell(row, auroc, t.columns.size());
      if (prow && same_columns) {
        const auto& values = auroc ? prow->auroc : prow->oscr;
        if (const auto it = values.find("mean"); it != values.end()) {
          c.paper_column = "mean";
          c.paper = it->second;
        }
      }
      cells.push_back(std::move(c));
    }
    s.rows.push_back(std::move(r));
  }
  if (published) {
    s.reference_columns = published->columns;
    for (const auto& pr : published->rows) {
      if (!run_methods.count(pr.method) || pr.method.empty()) s.reference.push_back(pr);
    }
  }
  return s;
}

// Table 5 / 6 rows by the ablation sweeps' directories (configs/sweeps/ablations/).
std::string ablation_paper_row(int table, const std::string& dir) {
  if (table == 5) {
    if (dir == "clip_arpl-baseline2") return "Baseline 2 (CLIP+ARPL)";
    if (dir == "hesp-text") return "+ textual prompting (TP)";
    if (dir == "hesp-text_visual") return "+ TP + visual prompting (VP)";
  }
  // Table 6 prints five rows, four of them unnamed; only the last (all losses) is
  // identifiable, and it is the sweep's full configuration.
  if (table == 6 && dir == "hesp-neg_clip") return "all losses";
  return "";
}

AblationComparison compare_ablation(const AblationSpec& spec,
                                    const std::vector<SettingComparison>& settings,
                                    const std::vector<SettingTable>& tables,
                                    const PaperTables& paper) {
  AblationComparison a;
  a.title = spec.title;
  const int number = spec.title.rfind("Table 5", 0) == 0   ? 5
                     : spec.title.rfind("Table 6", 0) == 0 ? 6
                                                           : 0;
  if (number == 0) {
    a.why_not.push_back("the paper publishes no numbers for " + spec.title);
    return a;
  }
  // The paper's ablations are means over AFEW's four openness values: the sweep's setting
  // that matches Table 1's protocol must have all four.
  const SettingComparison* afew = nullptr;
  const SettingTable* afew_table = nullptr;
  for (size_t i = 0; i < settings.size(); ++i) {
    if (settings[i].paper_table == 1) afew = &settings[i], afew_table = &tables[i];
  }
  if (!afew) {
    a.why_not.push_back("Table " + std::to_string(number) +
                        " is on AFEW (means over 5:2, 4:3, 3:4, 2:5) and no setting of this "
                        "sweep matches the paper's AFEW protocol");
    for (const auto& s : settings) {
      for (const auto& w : s.why_not) a.why_not.push_back(s.setting + ": " + w);
    }
    return a;
  }
  const auto has_paper_column = [](const std::string& c) { return !c.empty(); };
  if (std::count_if(afew->paper_columns.begin(), afew->paper_columns.end(), has_paper_column) !=
      4) {
    std::vector<std::string> labels;
    for (const auto& c : afew_table->columns) labels.push_back(c.label);
    a.why_not.push_back("Table " + std::to_string(number) +
                        "'s values are means over AFEW 5:2, 4:3, 3:4 and 2:5; this sweep ran " +
                        afew->setting + " at " + join(labels, ", ") + " only");
    return a;
  }
  const PublishedTable* published = paper.table(number);
  a.paper_table = number;
  for (const auto& rs : spec.rows) {
    const std::string paper_row = ablation_paper_row(number, rs.dir);
    if (paper_row.empty()) continue;
    for (const CompareRow& r : afew->rows) {
      if (r.method != rs.dir) continue;
      CompareRow row;
      row.method = r.method;
      row.name = rs.label;
      row.paper_name = paper_row;
      row.auroc = {r.auroc.back()};
      row.oscr = {r.oscr.back()};
      for (const auto& pr : published->rows) {
        if (pr.name != paper_row) continue;
        row.auroc[0].paper = pr.auroc.at("mean");
        row.oscr[0].paper = pr.oscr.at("mean");
        row.auroc[0].paper_column = row.oscr[0].paper_column = "mean";
      }
      a.rows.push_back(std::move(row));
    }
  }
  return a;
}

PairedComparison pair_values(const std::vector<std::pair<const Cell*, const Cell*>>& cells,
                             bool auroc) {
  PairedComparison p;
  p.auroc = auroc;
  std::vector<double> d;
  for (const auto& [m, b] : cells) {
    std::map<std::pair<int, int64_t>, double> base;
    for (const SplitValue& v : b->values) base[{v.split, v.seed}] = auroc ? v.auroc : v.oscr;
    int paired = 0;
    for (const SplitValue& v : m->values) {
      const auto it = base.find({v.split, v.seed});
      if (it == base.end()) continue;
      d.push_back((auroc ? v.auroc : v.oscr) - it->second);
      ++paired;
    }
    p.unpaired += std::max(m->planned, b->planned) - paired;
  }
  p.pairs = static_cast<int>(d.size());
  for (double x : d) {
    p.mean_difference += x / static_cast<double>(d.size());
    (x > 0 ? p.wins : x < 0 ? p.losses : p.ties)++;
  }
  p.ci = t_interval(d);
  p.test = sign_flip_test(d);
  return p;
}

}  // namespace

std::string baseline_of(const std::string& method) {
  const config::MethodTraits* traits = config::method_traits_by_name(method);
  if (traits == nullptr || !traits->baseline) return "";
  return config::Method_Name(*traits->baseline);
}

std::string p_value_text(const SignFlipTest& t) {
  if (t.n == 0) return "—";
  char buf[160];
  const double inverse = 1.0 / t.smallest_possible_p;
  if (!t.exact) {
    std::snprintf(buf, sizeof buf, "%.4g (Monte Carlo, 2^20 sign patterns)", t.p);
  } else if (inverse <= 1e6) {
    std::snprintf(buf, sizeof buf, "%.4g (smallest possible with %d pairs: 1/%.0f)", t.p, t.n,
                  inverse);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g (smallest possible with %d pairs: %.3g)", t.p, t.n,
                  t.smallest_possible_p);
  }
  return buf;
}

Comparisons build_comparisons(const std::vector<SettingTable>& tables, const PaperTables& paper,
                              const std::optional<AblationSpec>& ablation) {
  Comparisons c;
  c.paper_source = paper.source;
  for (const SettingTable& t : tables) c.settings.push_back(compare_setting(t, paper));
  if (ablation) c.ablation = compare_ablation(*ablation, c.settings, tables, paper);
  for (const SettingTable& t : tables) {
    for (const config::Method with_hesp : config::methods_in_paper_order()) {
      if (!config::method_traits(with_hesp).baseline) continue;
      const std::string method = config::Method_Name(with_hesp);
      const std::string baseline = baseline_of(method);
      const Row *m = nullptr, *b = nullptr;
      for (const Row& r : t.rows) {
        if (r.method == method) m = &r;
        if (r.method == baseline) b = &r;
      }
      if (!m && !b) continue;
      if (!m || !b) {
        c.unpaired_notes.push_back(t.setting + ": no " + (m ? baseline : method) +
                                   " runs to pair " + (m ? method : baseline) + " with");
        continue;
      }
      const std::string name = m->name + " − " + b->name;
      std::vector<std::pair<const Cell*, const Cell*>> all;
      for (const bool auroc : {true, false}) {
        for (size_t i = 0; i <= t.columns.size(); ++i) {
          std::vector<std::pair<const Cell*, const Cell*>> cells;
          if (i < t.columns.size()) {
            cells.push_back({&m->cells[i], &b->cells[i]});
          } else {
            for (size_t k = 0; k < t.columns.size(); ++k) {
              cells.push_back({&m->cells[k], &b->cells[k]});
            }
          }
          PairedComparison p = pair_values(cells, auroc);
          p.setting = t.setting;
          p.method = method;
          p.baseline = baseline;
          p.name = name;
          p.column = i < t.columns.size() ? t.columns[i].label : "all";
          c.paired.push_back(std::move(p));
        }
      }
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Markdown

namespace {

std::string mean_text(const CompareCell& c) {
  if (!c.mean) return c.not_available;
  return fixed2(*c.mean);
}

std::string n_text(const CompareCell& c) { return c.mean ? std::to_string(c.n) : ""; }

std::string outside_mark(const CompareCell& c) {
  if (!c.paper || !c.ci) return "";
  return c.paper_outside() ? "✗ outside" : "inside";
}

void markdown_rows(std::ostringstream& md, const std::vector<CompareRow>& rows, bool with_paper) {
  if (with_paper) {
    md << "| Method | Openness | Metric | Paper | Ours: mean | Ours − paper | Ours: 95% CI | n "
          "| Paper vs CI |\n|---|---|---|---|---|---|---|---|---|\n";
  } else {
    md << "| Method | Openness | Metric | Ours: mean | Ours: 95% CI | n |\n"
          "|---|---|---|---|---|---|\n";
  }
  for (const CompareRow& r : rows) {
    for (const bool auroc : {true, false}) {
      for (const CompareCell& c : auroc ? r.auroc : r.oscr) {
        const std::string col = c.column == "mean" ? "Mean" : c.column;
        md << "| " << r.name << " | " << col << " | " << (auroc ? "AUROC" : "OSCR") << " | ";
        if (with_paper) {
          md << (c.paper ? fixed2(*c.paper) : "—") << " | " << mean_text(c) << " | "
             << (c.difference() ? signed2(*c.difference()) : "—") << " | " << ci_text(c.ci) << " | "
             << n_text(c) << " | " << outside_mark(c) << " |\n";
        } else {
          md << mean_text(c) << " | " << ci_text(c.ci) << " | " << n_text(c) << " |\n";
        }
      }
    }
  }
}

}  // namespace

std::string comparisons_markdown(const Comparisons& c) {
  std::ostringstream md;
  md << "# Against the paper\n\n"
     << "Published values: " << c.paper_source << ". A setting is compared only when its "
     << "runs match the paper's protocol: the datasets, the known/unknown class counts of "
     << "each openness column, and CLIP " << kPaperClipArchitecture
     << ". Ours: mean over the splits x100; 95% CI: Student's t interval of that mean over "
        "the n splits (n - 1 degrees of freedom); ✗ outside: the paper's value lies outside "
        "it. Mean: the mean over openness, its interval over the per-split means.\n\n";
  for (const SettingComparison& s : c.settings) {
    md << "## " << s.title << "\n\n";
    if (!s.paper_table) {
      md << "**Not compared with the paper:** " << join(s.why_not, "; ")
         << ". No published values are shown.\n\n";
      markdown_rows(md, s.rows, false);
      md << "\n";
      continue;
    }
    md << "Compared with the paper's Table " << s.paper_table << ".";
    for (const auto& n : s.notes) md << " " << n << ".";
    md << "\n\n";
    markdown_rows(md, s.rows, true);
    if (!s.reference.empty()) {
      md << "\nPublished, not run (the paper's values, x100):\n\n| Method |";
      for (const auto& col : s.reference_columns) {
        md << " " << (col == "mean" ? "Mean" : col) << " AUROC | " << (col == "mean" ? "Mean" : col)
           << " OSCR |";
      }
      md << "\n|---|";
      for (size_t i = 0; i < s.reference_columns.size(); ++i) md << "---|---|";
      md << "\n";
      for (const auto& r : s.reference) {
        md << "| " << r.name << " (published, not run) |";
        for (const auto& col : s.reference_columns) {
          const auto a = r.auroc.find(col), o = r.oscr.find(col);
          md << " " << (a != r.auroc.end() ? fixed2(a->second) : "—") << " | "
             << (o != r.oscr.end() ? fixed2(o->second) : "—") << " |";
        }
        md << "\n";
      }
    }
    md << "\n";
  }
  if (c.ablation) {
    md << "## " << c.ablation->title << " against the paper\n\n";
    if (!c.ablation->paper_table) {
      md << "**Not compared with the paper:** " << join(c.ablation->why_not, "; ") << ".\n\n";
    } else {
      md << "The paper's Table " << c.ablation->paper_table
         << " (AFEW, means over openness) beside this sweep's rows that it names.\n\n";
      markdown_rows(md, c.ablation->rows, true);
      md << "\n";
    }
  }
  md << "# HESP against its baseline, paired by split\n\n"
     << "Per setting and openness, ours − baseline x100 over the splits where both runs are "
        "done (the same class split and seed): the mean paired difference with its 95% t "
        "interval, the splits won, and the exact two-sided sign-flip permutation test (every "
        "one of the 2^n sign patterns of the differences). With 5 splits its smallest "
        "possible p is 2/32 = 1/16 = 0.0625: it can never reach 0.05. \"all\" pairs every "
        "(openness, split) of the table. Runs that are not done are never paired (unpaired "
        "counts them).\n\n";
  if (c.paired.empty()) md << "No pairs: the sweep has no method together with its baseline.\n";
  for (const auto& n : c.unpaired_notes) md << "- " << n << ".\n";
  if (!c.unpaired_notes.empty()) md << "\n";
  if (!c.paired.empty()) {
    md << "| Setting | Comparison | Openness | Metric | Pairs | Mean difference | 95% CI | "
          "Won | Exact p (sign-flip) | Unpaired |\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& p : c.paired) {
      md << "| " << p.setting << " | " << p.name << " | " << p.column << " | "
         << (p.auroc ? "AUROC" : "OSCR") << " | " << p.pairs << " | "
         << (p.pairs ? signed2(p.mean_difference) : "—") << " | " << ci_text(p.ci) << " | "
         << p.wins << "/" << p.pairs << " | " << p_value_text(p.test) << " | " << p.unpaired
         << " |\n";
    }
    md << "\n";
  }
  return md.str();
}

// ---------------------------------------------------------------------------------------
// CSV

std::string paper_comparison_csv(const Comparisons& c) {
  std::ostringstream csv;
  csv << "setting,paper_table,compared,why_not,kind,method,row_name,paper_row,column,"
         "paper_column,metric,paper_x100,mean_x100,difference_x100,ci_low,ci_high,n,"
         "paper_outside_ci\n";
  auto rows = [&](const std::string& setting, int table, const std::string& why,
                  const std::vector<CompareRow>& list) {
    for (const CompareRow& r : list) {
      for (const bool auroc : {true, false}) {
        for (const CompareCell& x : auroc ? r.auroc : r.oscr) {
          csv << csv_field(setting) << "," << (table ? std::to_string(table) : "") << ","
              << (table ? "yes" : "no") << "," << csv_field(why) << ",run," << csv_field(r.method)
              << "," << csv_field(r.name) << "," << csv_field(r.paper_name) << ","
              << csv_field(x.column) << "," << csv_field(x.paper_column) << ","
              << (auroc ? "auroc" : "oscr") << "," << (x.paper ? full(*x.paper) : "") << ","
              << (x.mean ? full(*x.mean) : "") << ","
              << (x.difference() ? full(*x.difference()) : "") << ","
              << (x.ci ? full(x.ci->low) : "") << "," << (x.ci ? full(x.ci->high) : "") << ","
              << x.n << "," << (x.paper && x.ci ? (x.paper_outside() ? "yes" : "no") : "") << "\n";
        }
      }
    }
  };
  for (const SettingComparison& s : c.settings) {
    rows(s.setting, s.paper_table, join(s.why_not, "; "), s.rows);
    for (const auto& r : s.reference) {
      for (const bool auroc : {true, false}) {
        for (const auto& col : s.reference_columns) {
          const auto& values = auroc ? r.auroc : r.oscr;
          const auto it = values.find(col);
          if (it == values.end()) continue;
          csv << csv_field(s.setting) << "," << s.paper_table << ",yes,,published_not_run,"
              << csv_field(r.method) << "," << csv_field(r.name) << "," << csv_field(r.name) << ","
              << csv_field(col) << "," << csv_field(col) << "," << (auroc ? "auroc" : "oscr") << ","
              << full(it->second) << ",,,,,,\n";
        }
      }
    }
  }
  if (c.ablation) {
    rows(c.ablation->title, c.ablation->paper_table, join(c.ablation->why_not, "; "),
         c.ablation->rows);
  }
  return csv.str();
}

std::string paired_tests_csv(const Comparisons& c) {
  std::ostringstream csv;
  csv << "setting,method,baseline,column,metric,pairs,unpaired,mean_difference_x100,ci_low,"
         "ci_high,wins,ties,losses,p_sign_flip,p_exact,p_smallest_possible\n";
  for (const auto& p : c.paired) {
    csv << csv_field(p.setting) << "," << p.method << "," << p.baseline << ","
        << csv_field(p.column) << "," << (p.auroc ? "auroc" : "oscr") << "," << p.pairs << ","
        << p.unpaired << "," << (p.pairs ? full(p.mean_difference) : "") << ","
        << (p.ci ? full(p.ci->low) : "") << "," << (p.ci ? full(p.ci->high) : "") << "," << p.wins
        << "," << p.ties << "," << p.losses << "," << (p.pairs ? full(p.test.p) : "") << ","
        << (p.test.exact ? "yes" : "no") << "," << (p.pairs ? full(p.test.smallest_possible_p) : "")
        << "\n";
  }
  return csv.str();
}

// ---------------------------------------------------------------------------------------
// HTML

namespace {

void html_rows(std::ostringstream& h, const std::vector<CompareRow>& rows, bool with_paper,
               const std::string& id) {
  h << "<table class=\"results compare\" id=\"" << xml_escape(id) << "\">\n<thead><tr>"
    << "<th>Method</th><th>Openness</th><th>Metric</th>";
  if (with_paper) h << "<th>Paper</th>";
  h << "<th>Ours: mean</th>";
  if (with_paper) h << "<th>Ours − paper</th>";
  h << "<th>Ours: 95% CI</th><th>n</th>";
  if (with_paper) h << "<th>Paper vs CI</th>";
  h << "</tr></thead>\n<tbody>\n";
  for (const CompareRow& r : rows) {
    for (const bool auroc : {true, false}) {
      for (const CompareCell& c : auroc ? r.auroc : r.oscr) {
        h << "<tr><th scope=\"row\">" << xml_escape(r.name) << "</th><td>"
          << xml_escape(c.column == "mean" ? "Mean" : c.column) << "</td><td>"
          << (auroc ? "AUROC" : "OSCR") << "</td>";
        if (with_paper) h << "<td>" << (c.paper ? fixed2(*c.paper) : "—") << "</td>";
        h << "<td" << (c.mean ? "" : " class=\"na\"") << ">" << xml_escape(mean_text(c)) << "</td>";
        if (with_paper) {
          h << "<td>" << (c.difference() ? signed2(*c.difference()) : "—") << "</td>";
        }
        h << "<td>" << ci_text(c.ci) << "</td><td>" << n_text(c) << "</td>";
        if (with_paper) {
          h << "<td" << (c.paper_outside() ? " class=\"outside\"" : "") << ">"
            << xml_escape(outside_mark(c)) << "</td>";
        }
        h << "</tr>\n";
      }
    }
  }
  h << "</tbody></table>\n";
}

}  // namespace

std::string comparisons_html(const Comparisons& c) {
  std::ostringstream h;
  h << "<h1>Against the paper</h1>\n<p>Published values: " << xml_escape(c.paper_source)
    << ". A setting is compared only when its runs match the paper's protocol (datasets, "
       "known/unknown class counts per openness, CLIP "
    << kPaperClipArchitecture
    << "). Ours: mean over the splits x100 with its 95% Student's t interval over the n "
       "splits; ✗ outside: the paper's value lies outside that interval.</p>\n";
  for (const SettingComparison& s : c.settings) {
    h << "<h2>" << xml_escape(s.title) << "</h2>\n";
    if (!s.paper_table) {
      h << "<p class=\"not-compared\"><strong>Not compared with the paper:</strong> "
        << xml_escape(join(s.why_not, "; ")) << ". No published values are shown.</p>\n";
      html_rows(h, s.rows, false, "compare-" + s.setting);
      continue;
    }
    h << "<p>Compared with the paper's Table " << s.paper_table << ".";
    for (const auto& n : s.notes) h << " " << xml_escape(n) << ".";
    h << "</p>\n";
    html_rows(h, s.rows, true, "compare-" + s.setting);
    if (!s.reference.empty()) {
      h << "<p>Published, not run (the paper's values, x100):</p>\n<table class=\"results "
           "reference\">\n<thead><tr><th>Method</th>";
      for (const auto& col : s.reference_columns) {
        const std::string l = col == "mean" ? "Mean" : col;
        h << "<th>" << xml_escape(l) << " AUROC</th><th>" << xml_escape(l) << " OSCR</th>";
      }
      h << "</tr></thead>\n<tbody>\n";
      for (const auto& r : s.reference) {
        h << "<tr><th scope=\"row\">" << xml_escape(r.name) << " (published, not run)</th>";
        for (const auto& col : s.reference_columns) {
          const auto a = r.auroc.find(col), o = r.oscr.find(col);
          h << "<td>" << (a != r.auroc.end() ? fixed2(a->second) : "—") << "</td><td>"
            << (o != r.oscr.end() ? fixed2(o->second) : "—") << "</td>";
        }
        h << "</tr>\n";
      }
      h << "</tbody></table>\n";
    }
  }
  if (c.ablation) {
    h << "<h2>" << xml_escape(c.ablation->title) << " against the paper</h2>\n";
    if (!c.ablation->paper_table) {
      h << "<p class=\"not-compared\"><strong>Not compared with the paper:</strong> "
        << xml_escape(join(c.ablation->why_not, "; ")) << ".</p>\n";
    } else {
      html_rows(h, c.ablation->rows, true, "compare-ablation");
    }
  }
  h << "<h1>HESP against its baseline, paired by split</h1>\n<p>Ours − baseline x100 over "
       "the splits where both runs are done: mean paired difference, its 95% t interval, "
       "splits won, and the exact two-sided sign-flip test. With 5 splits the smallest "
       "possible p is 1/16 = 0.0625: it can never reach 0.05.</p>\n";
  if (!c.unpaired_notes.empty()) {
    h << "<ul>\n";
    for (const auto& n : c.unpaired_notes) h << "<li>" << xml_escape(n) << ".</li>\n";
    h << "</ul>\n";
  }
  if (!c.paired.empty()) {
    h << "<table class=\"results paired\">\n<thead><tr><th>Setting</th><th>Comparison</th>"
         "<th>Openness</th><th>Metric</th><th>Pairs</th><th>Mean difference</th><th>95% CI"
         "</th><th>Won</th><th>Exact p (sign-flip)</th><th>Unpaired</th></tr></thead>\n"
         "<tbody>\n";
    for (const auto& p : c.paired) {
      h << "<tr><td>" << xml_escape(p.setting) << "</td><td>" << xml_escape(p.name) << "</td><td>"
        << xml_escape(p.column) << "</td><td>" << (p.auroc ? "AUROC" : "OSCR") << "</td><td>"
        << p.pairs << "</td><td>" << (p.pairs ? signed2(p.mean_difference) : "—") << "</td><td>"
        << ci_text(p.ci) << "</td><td>" << p.wins << "/" << p.pairs << "</td><td>"
        << xml_escape(p_value_text(p.test)) << "</td><td>" << p.unpaired << "</td></tr>\n";
    }
    h << "</tbody></table>\n";
  }
  return h.str();
}

std::string paper_figure_svg(const SettingComparison& s) {
  std::vector<std::string> groups, series;
  std::vector<std::vector<std::optional<IntervalPoint>>> values;
  const CompareRow* first = nullptr;
  for (const CompareRow& r : s.rows) {
    if (!r.paper_name.empty()) {
      first = &r;
      break;
    }
  }
  if (!first) return "";
  for (const bool auroc : {true, false}) {
    for (const CompareCell& c : auroc ? first->auroc : first->oscr) {
      groups.push_back(std::string(auroc ? "AUROC " : "OSCR ") +
                       (c.column == "mean" ? "Mean" : c.column));
    }
  }
  for (const CompareRow& r : s.rows) {
    if (r.paper_name.empty()) continue;
    series.push_back(r.name);
    std::vector<std::optional<IntervalPoint>> row;
    for (const bool auroc : {true, false}) {
      for (const CompareCell& c : auroc ? r.auroc : r.oscr) {
        IntervalPoint p;
        p.mean = c.mean;
        if (c.ci) p.low = c.ci->low, p.high = c.ci->high;
        p.reference = c.paper;
        row.push_back(p.mean || p.reference ? std::optional<IntervalPoint>(p) : std::nullopt);
      }
    }
    values.push_back(std::move(row));
  }
  return interval_figure_svg(
      s.title + " — ours (mean, 95% CI) and the paper's Table " + std::to_string(s.paper_table),
      "x100", groups, series, values, "ours: mean and 95% CI",
      "paper (Table " + std::to_string(s.paper_table) + ")");
}

}  // namespace hesp::report
