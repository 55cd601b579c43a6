#pragma once
// Open-set class splits (spec §11): which classes are known (trained on) and which are
// unknown (only seen at test time), from hesp.config.OpenSetSplit and the class names a
// dataset has, in label order. Three ways, exactly one per config:
//  1. known_classes: an explicit list of names.
//  2. num_known K (+ num_unknown U, split_seed): a seeded draw. Deterministic on every
//     platform: std::mt19937_64(split_seed) (whose output the standard fixes) drives a
//     Fisher-Yates shuffle of the class indices with our own unbiased bounded draw
//     (rejection sampling, not std::uniform_int_distribution, whose algorithm differs
//     between standard libraries); the first K shuffled classes are known, the next U
//     unknown (U = 0: every other class).
//  3. splits_file + split_index: the known-index list number split_index of the dataset's
//     entry in a splits file such as configs/splits/hesp_reference_splits.json. Indices
//     refer to the FILE's label_order for that dataset; by default every other class of
//     that label_order is unknown.
// unknown_classes, when given, replaces the default unknown set (fusion / compound).
// Known and unknown names are returned in the order of `class_names`.
#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.pb.h"

namespace hesp::data {

struct OpenSetClasses {
  std::vector<std::string> known;
  std::vector<std::string> unknown;
  double openness = 0;      // 1 - sqrt(K / (K + U)).
  std::string description;  // How the split was chosen, for logs and reports.
};

double openness(int num_known, int num_unknown);

// `dataset_key`: the dataset's key in a splits file; empty = derived from
// OpenSetSplit.setting (case-insensitive, e.g. "afew" -> "AFEW"). Relative splits_file
// paths resolve against `base_dir` (empty = the working directory).
// `clips_per_class` (parallel to class_names) is needed by unknown_most_frequent only.
// Throws ConfigError for every user mistake (unknown class name, K < 2, more classes than
// present, index out of range, dataset key missing, unreadable file), naming the field.
OpenSetClasses resolve_open_set_split(const config::OpenSetSplit& split,
                                      const std::vector<std::string>& class_names,
                                      const std::string& dataset_key = "",
                                      const std::filesystem::path& base_dir = {},
                                      const std::vector<int64_t>& clips_per_class = {});

// The deterministic draw of way 2, exposed for tests: a permutation of 0..n-1.
std::vector<int> seeded_permutation(int n, uint64_t seed);

}  // namespace hesp::data
