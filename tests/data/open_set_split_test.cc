// Open-set class splits: the three ways, the reference splits file and every user error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "data/selection/open_set_split.h"
#include "util/errors.h"

namespace hesp::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kAfew = {"Angry",   "Disgust", "Fear",    "Happy",
                                        "Neutral", "Sad",     "Surprise"};
const std::vector<std::string> kMafw = {"anger",   "disgust",      "fear",          "happiness",
                                        "neutral", "sadness",      "surprise",      "contempt",
                                        "anxiety", "helplessness", "disappointment"};

std::string reference_file() {
  return std::string(HESP_SOURCE_DIR) + "/configs/splits/hesp_reference_splits.json";
}

std::string error_of(const config::OpenSetSplit& s, const std::vector<std::string>& names,
                     const std::string& key = "") {
  try {
    resolve_open_set_split(s, names, key);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OpenSetSplit, OpennessFormula) {
  EXPECT_DOUBLE_EQ(openness(5, 2), 1 - std::sqrt(5.0 / 7.0));
  EXPECT_DOUBLE_EQ(openness(8, 3), 1 - std::sqrt(8.0 / 11.0));
  EXPECT_DOUBLE_EQ(openness(7, 0), 0.0);
}

TEST(OpenSetSplit, ExplicitKnownListInLabelOrder) {
  config::OpenSetSplit s;
  s.add_known_classes("Sad");
  s.add_known_classes("Angry");
  s.add_known_classes("Happy");
  const auto r = resolve_open_set_split(s, kAfew);
  EXPECT_THAT(r.known, ElementsAre("Angry", "Happy", "Sad"));
  EXPECT_THAT(r.unknown, ElementsAre("Disgust", "Fear", "Neutral", "Surprise"));
  EXPECT_DOUBLE_EQ(r.openness, 1 - std::sqrt(3.0 / 7.0));
}

TEST(OpenSetSplit, MostFrequentOtherClassesBecomeUnknown) {
  // Spec §11, MAFW compound: the 7 basic emotions known, the N most frequent compound
  // labels unknown. Counts per class, parallel to the names.
  // contempt: a MAFW-only single emotion, frequent, but never a compound unknown.
  const std::vector<std::string> names = {"anger",         "happiness",       "anger_disgust",
                                          "fear_surprise", "sadness_anxiety", "happiness_surprise",
                                          "neutral",       "contempt"};
  const std::vector<int64_t> counts = {50, 60, 30, 12, 30, 0, 70, 100};
  config::OpenSetSplit s;
  s.set_setting("mafw_compound");
  for (const char* n : {"anger", "happiness", "neutral"}) s.add_known_classes(n);
  s.set_unknown_most_frequent(2);
  auto r = resolve_open_set_split(s, names, "", {}, counts);
  // 30 and 30 tie: both beat 12; the known classes never count, whatever their size.
  EXPECT_THAT(r.unknown, ElementsAre("anger_disgust", "sadness_anxiety"));
  EXPECT_THAT(r.known, ElementsAre("anger", "happiness", "neutral"));
  s.set_unknown_most_frequent(3);
  r = resolve_open_set_split(s, names, "", {}, counts);
  EXPECT_THAT(r.unknown, ElementsAre("anger_disgust", "fear_surprise", "sadness_anxiety"));
  // A class without clips is never drawn: 4 asked, 3 have clips.
  s.set_unknown_most_frequent(4);
  try {
    resolve_open_set_split(s, names, "", {}, counts);
    FAIL() << "too few classes with clips must be refused";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("only 3 compound classes outside the known set have clips"));
  }
  // Another setting: any class outside the known set counts, singles included.
  s.set_setting("custom");
  s.set_unknown_most_frequent(2);
  r = resolve_open_set_split(s, names, "", {}, counts);
  EXPECT_THAT(r.unknown, ElementsAre("anger_disgust", "contempt"));
  s.set_setting("mafw_compound");
  s.set_unknown_most_frequent(2);
  s.add_unknown_classes("fear_surprise");
  EXPECT_THAT(error_of(s, names), HasSubstr("are exclusive"));
  config::OpenSetSplit drawn;
  drawn.set_num_known(2);
  drawn.set_unknown_most_frequent(2);
  EXPECT_THAT(error_of(drawn, names), HasSubstr("needs data.open_set.known_classes"));
}

TEST(OpenSetSplit, ExplicitUnknownListReplacesTheRest) {
  config::OpenSetSplit s;
  s.set_setting("mafw_compound");
  for (const char* n :
       {"anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"}) {
    s.add_known_classes(n);
  }
  s.add_unknown_classes("anxiety");
  s.add_unknown_classes("contempt");
  const auto r = resolve_open_set_split(s, kMafw);
  EXPECT_EQ(r.known.size(), 7u);
  EXPECT_THAT(r.unknown, ElementsAre("contempt", "anxiety"));
  EXPECT_DOUBLE_EQ(r.openness, 1 - std::sqrt(7.0 / 9.0));
  s.add_unknown_classes("fear");
  EXPECT_THAT(error_of(s, kMafw), HasSubstr("'fear' is both known and unknown"));
}

TEST(OpenSetSplit, SeededDrawIsDeterministicDisjointAndUniform) {
  config::OpenSetSplit s;
  s.set_num_known(4);
  s.set_num_unknown(2);
  s.set_split_seed(17);
  const auto a = resolve_open_set_split(s, kAfew);
  const auto b = resolve_open_set_split(s, kAfew);
  EXPECT_EQ(a.known, b.known);
  EXPECT_EQ(a.unknown, b.unknown);
  ASSERT_EQ(a.known.size(), 4u);
  ASSERT_EQ(a.unknown.size(), 2u);
  std::set<std::string> all(a.known.begin(), a.known.end());
  all.insert(a.unknown.begin(), a.unknown.end());
  EXPECT_EQ(all.size(), 6u);
  EXPECT_DOUBLE_EQ(a.openness, 1 - std::sqrt(4.0 / 6.0));
  // Label order inside each list.
  EXPECT_TRUE(std::is_sorted(a.known.begin(), a.known.end(), [](auto& x, auto& y) {
    return std::find(kAfew.begin(), kAfew.end(), x) < std::find(kAfew.begin(), kAfew.end(), y);
  }));
  // num_unknown 0: every other class is unknown.
  s.set_num_unknown(0);
  const auto rest = resolve_open_set_split(s, kAfew);
  EXPECT_EQ(rest.known, a.known);  // Same seed, same first four.
  EXPECT_EQ(rest.unknown.size(), 3u);

  // Over many seeds every class is known about K/N of the time.
  std::vector<int> known_count(kAfew.size(), 0);
  const int seeds = 7000;
  s.set_num_unknown(3);
  for (int seed = 0; seed < seeds; ++seed) {
    s.set_split_seed(seed);
    for (const auto& n : resolve_open_set_split(s, kAfew).known) {
      ++known_count[std::find(kAfew.begin(), kAfew.end(), n) - kAfew.begin()];
    }
  }
  for (size_t i = 0; i < kAfew.size(); ++i) {
    EXPECT_NEAR(known_count[i] / static_cast<double>(seeds), 4.0 / 7.0, 0.03) << kAfew[i];
  }
}

TEST(OpenSetSplit, SeededPermutationFollowsMt19937_64) {
  // The standard fixes mt19937_64's stream: with the default seed 5489 the first output
  // is 14514284786278117030 (even), so the one Fisher-Yates step for n = 2 draws j = 0
  // and swaps.
  EXPECT_EQ(std::mt19937_64(5489)(), 14514284786278117030ull);
  EXPECT_EQ(seeded_permutation(2, 5489), (std::vector<int>{1, 0}));
  auto p = seeded_permutation(11, 99);
  std::sort(p.begin(), p.end());
  for (int i = 0; i < 11; ++i) EXPECT_EQ(p[i], i);
  EXPECT_NE(seeded_permutation(11, 1), seeded_permutation(11, 2));
}

TEST(OpenSetSplit, ReferenceSplitsFile) {
  config::OpenSetSplit s;
  s.set_setting("afew");
  s.set_splits_file(reference_file());
  s.set_split_index(0);  // [5, 3] -> Sad, Happy.
  auto r = resolve_open_set_split(s, kAfew);
  EXPECT_THAT(r.known, ElementsAre("Happy", "Sad"));
  EXPECT_THAT(r.unknown, ElementsAre("Angry", "Disgust", "Fear", "Neutral", "Surprise"));
  EXPECT_DOUBLE_EQ(r.openness, 1 - std::sqrt(2.0 / 7.0));
  EXPECT_THAT(r.description, HasSubstr("AFEW split 0"));

  // Five lists per openness, in increasing K: AFEW 2,3,4,5 and MAFW 3,5,6,8.
  const int afew_k[] = {2, 3, 4, 5}, mafw_k[] = {3, 5, 6, 8};
  for (int i = 0; i < 20; ++i) {
    s.set_split_index(i);
    s.set_setting("afew");
    auto ra = resolve_open_set_split(s, kAfew);
    EXPECT_EQ(ra.known.size(), static_cast<size_t>(afew_k[i / 5])) << "AFEW " << i;
    EXPECT_EQ(ra.known.size() + ra.unknown.size(), 7u);
    s.set_setting("mafw");
    auto rm = resolve_open_set_split(s, kMafw);
    EXPECT_EQ(rm.known.size(), static_cast<size_t>(mafw_k[i / 5])) << "MAFW " << i;
    EXPECT_EQ(rm.known.size() + rm.unknown.size(), 11u);
  }
  s.set_split_index(19);  // MAFW [2, 3, 6, 0, 7, 9, 10, 1].
  r = resolve_open_set_split(s, kMafw);
  EXPECT_THAT(r.known, ElementsAre("anger", "disgust", "fear", "happiness", "surprise", "contempt",
                                   "helplessness", "disappointment"));
  EXPECT_THAT(r.unknown, ElementsAre("neutral", "sadness", "anxiety"));

  // An explicit dataset key beats the setting; the file's label order maps indices to
  // names even when the dataset lists its classes in another order.
  s.set_split_index(0);  // DFEW [6, 1] -> fear, sad.
  std::vector<std::string> dfew_other_order = {"angry",   "disgust", "fear",    "happy",
                                               "neutral", "sad",     "surprise"};
  r = resolve_open_set_split(s, dfew_other_order, "DFEW");
  EXPECT_THAT(r.known, ElementsAre("fear", "sad"));
  EXPECT_EQ(r.unknown.size(), 5u);
}

TEST(OpenSetSplit, UserErrorsAreClear) {
  config::OpenSetSplit none;
  EXPECT_THAT(error_of(none, kAfew), HasSubstr("exactly one of known_classes, num_known"));

  config::OpenSetSplit bad_name;
  bad_name.add_known_classes("Angry");
  bad_name.add_known_classes("Joy");
  EXPECT_THAT(error_of(bad_name, kAfew),
              HasSubstr("data.open_set.known_classes: class 'Joy' is not among"));

  config::OpenSetSplit one;
  one.add_known_classes("Angry");
  EXPECT_THAT(error_of(one, kAfew), HasSubstr("at least 2 known classes"));
  config::OpenSetSplit one_drawn;
  one_drawn.set_num_known(1);
  one_drawn.set_num_unknown(2);
  EXPECT_THAT(error_of(one_drawn, kAfew), HasSubstr("at least 2 known classes"));

  config::OpenSetSplit too_many;
  too_many.set_num_known(6);
  too_many.set_num_unknown(3);
  EXPECT_THAT(error_of(too_many, kAfew),
              HasSubstr("6 known + 3 unknown classes requested, the dataset has 7"));

  config::OpenSetSplit out_of_range;
  out_of_range.set_setting("afew");
  out_of_range.set_splits_file(reference_file());
  out_of_range.set_split_index(20);
  EXPECT_THAT(error_of(out_of_range, kAfew),
              HasSubstr("split_index 20 is out of range for 'AFEW' (0..19)"));

  config::OpenSetSplit no_key = out_of_range;
  no_key.set_split_index(0);
  no_key.set_setting("custom");
  EXPECT_THAT(error_of(no_key, kAfew), HasSubstr("no dataset 'custom'"));
  EXPECT_THAT(error_of(no_key, kAfew, "FERV39k"), HasSubstr("no dataset 'FERV39k'"));

  config::OpenSetSplit missing_class = out_of_range;
  missing_class.set_split_index(0);
  EXPECT_THAT(error_of(missing_class, {"Angry", "Happy", "Sad"}), HasSubstr("'Disgust'"));

  config::OpenSetSplit missing_file = out_of_range;
  missing_file.set_splits_file("/nonexistent/splits.json");
  missing_file.set_split_index(0);
  EXPECT_THAT(error_of(missing_file, kAfew), HasSubstr("/nonexistent/splits.json"));

  config::OpenSetSplit two_ways = bad_name;
  two_ways.set_num_known(3);
  EXPECT_THAT(error_of(two_ways, kAfew), HasSubstr("(2 set)"));

  config::OpenSetSplit dup;
  dup.add_known_classes("Angry");
  dup.add_known_classes("Angry");
  EXPECT_THAT(error_of(dup, kAfew), HasSubstr("listed twice"));
}

}  // namespace
}  // namespace hesp::data
