#pragma once
// The two questions a report answers beyond its tables (docs/report.md):
//  1. Against the paper: each cell of a setting whose runs match a published table's
//     protocol (datasets, class counts per openness column, CLIP ViT-B/32) beside the
//     paper's value: the user's mean over splits, the difference, the 95% t interval over
//     the splits and whether the paper's value lies outside it; the paper's other methods
//     as reference rows. A setting that does not match says why and shows no paper value.
//  2. HESP against its baseline (hesp vs clip_arpl, hesp_b1 vs clip_zeroshot; docs/method.md),
//     paired by (split, seed): mean difference with its 95% t interval, splits won and the
//     exact sign-flip test, per openness and over all (openness, split) pairs of a table.
#include <optional>
#include <string>
#include <vector>

#include "report/ablations.h"
#include "report/paper_tables.h"
#include "report/statistics.h"
#include "report/tables.h"

namespace hesp::report {

// One (row, column, metric) of the user's beside the paper's.
struct CompareCell {
  std::string column;           // The report's label ("5:2", "7:4", "mean").
  std::string paper_column;     // The paper's label ("5:2", "7:5", "mean"); "" = none.
  std::optional<double> paper;  // Published x100.
  std::optional<double> mean;   // The user's mean x100 over the splits (complete cells only).
  std::optional<TInterval> ci;  // 95% t interval over the splits (n >= 2).
  int n = 0;                    // Runs averaged.
  std::string not_available;    // Why there is no mean ("n/a (3/5 done)").
  std::optional<double> difference() const {
    if (!mean || !paper) return std::nullopt;
    return *mean - *paper;
  }
  bool paper_outside() const { return paper && ci && !ci->contains(*paper); }
};

struct CompareRow {
  std::string method;                    // The row's directory ("hesp", "hesp-text").
  std::string name;                      // The report's row name.
  std::string paper_name;                // The published row it is compared with; "" = none.
  std::vector<CompareCell> auroc, oscr;  // One per column, then the mean over openness.
};

struct SettingComparison {
  std::string setting, title;
  int paper_table = 0;                     // 0 = not compared with the paper.
  std::vector<std::string> why_not;        // Reasons when paper_table == 0.
  std::vector<std::string> notes;          // E.g. columns the paper does not have.
  std::vector<std::string> paper_columns;  // The paper's label of each column ("" = none).
  std::vector<CompareRow> rows;            // Every row of the setting's table.
  // The paper's rows that hesp does not run (ARPL, CSSR, ...): published, not run.
  std::vector<PublishedRow> reference;
  std::vector<std::string> reference_columns;  // The paper's column labels, "mean" last.
};

// An ablation sweep's rows beside the paper's Table 5 or 6 (means over AFEW's openness).
struct AblationComparison {
  int paper_table = 0;  // 5 or 6; 0 = not compared.
  std::string title;
  std::vector<std::string> why_not;
  std::vector<CompareRow> rows;  // Rows with a published counterpart (mean column only).
};

// One paired comparison of a method with its baseline.
struct PairedComparison {
  std::string setting;
  std::string method, baseline;  // "hesp", "clip_arpl".
  std::string name;              // "Baseline 2 + HESP − Baseline 2".
  std::string column;            // The openness label, or "all" (every openness).
  bool auroc = true;             // Else OSCR.
  int pairs = 0;                 // Splits with both runs done.
  int unpaired = 0;              // Planned splits where either run is not done.
  double mean_difference = 0;    // x100, method - baseline.
  std::optional<TInterval> ci;   // Of the mean difference (pairs >= 2).
  int wins = 0, ties = 0, losses = 0;
  SignFlipTest test;
};

struct Comparisons {
  std::string paper_source;
  std::vector<SettingComparison> settings;  // One per table, in table order.
  std::optional<AblationComparison> ablation;
  std::vector<PairedComparison> paired;
  // Settings with a method but not its baseline (or the reverse): "afew: no clip_arpl runs
  // to pair hesp with".
  std::vector<std::string> unpaired_notes;
};

// The baseline HESP builds on (docs/method.md; config::MethodTraits::baseline): hesp ->
// clip_arpl (Baseline 2), hesp_b1 -> clip_zeroshot (Baseline 1); "" for other methods.
std::string baseline_of(const std::string& method);

Comparisons build_comparisons(const std::vector<SettingTable>& tables, const PaperTables& paper,
                              const std::optional<AblationSpec>& ablation);

// Renderings: a Markdown section, two CSV files and an HTML fragment (docs/report.md).
std::string comparisons_markdown(const Comparisons& c);
std::string paper_comparison_csv(const Comparisons& c);
std::string paired_tests_csv(const Comparisons& c);
std::string comparisons_html(const Comparisons& c);

// One figure of a compared setting: per column (and the mean), the user's mean with its 95%
// interval beside the paper's value, for every row with a published counterpart; AUROC and
// OSCR side by side.
std::string paper_figure_svg(const SettingComparison& s);

// "0.0625 (= 1/16, the smallest possible with 5 pairs)" and the like.
std::string p_value_text(const SignFlipTest& t);

}  // namespace hesp::report
