// The validation hold-out (spec §9) and the preconditions checked before training (issue 13
// §1) on datasets written from the format contract:
//  - the hold-out takes round(fraction x n) clips of every known class, disjoint from the
//    training clips, the same for the same seed and independent of the packing order;
//  - Dataset::subset keeps clips, labels and frames;
//  - every failed precondition is named with its setting, split, class and counts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "contract_shard.h"
#include "data/loader/dataset.h"
#include "data/loader/preconditions.h"
#include "data/loader/validation_holdout.h"
#include "util/errors.h"

namespace hesp::data {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

const std::vector<std::string> kClasses{"Angry", "Happy", "Sad"};

stdfs::path fresh_dir(const std::string& name) {
  const auto d = stdfs::temp_directory_path() /
                 ("hesp_selection_test_" + std::to_string(getpid()) + "_" + name);
  stdfs::remove_all(d);
  stdfs::create_directories(d);
  return d;
}

std::unique_ptr<Dataset> open(const stdfs::path& dir) {
  DatasetOptions o;
  o.manifests = {dir};
  o.known_classes = kClasses;
  o.unknown = UnknownClasses::kExclude;
  return std::make_unique<Dataset>(o);
}

std::set<std::string> ids_of(const Dataset& d, const std::vector<int64_t>& indices) {
  std::set<std::string> out;
  for (const auto i : indices) out.insert(d.clip(i).clip_id);
  return out;
}

TEST(ValidationHoldOut, CountRoundsHalvesUp) {
  EXPECT_EQ(holdout_count(4, 0.25), 1);
  EXPECT_EQ(holdout_count(3, 0.5), 2);  // 1.5
  EXPECT_EQ(holdout_count(10, 0.04), 0);
  EXPECT_EQ(holdout_count(10, 0.0), 0);
  EXPECT_EQ(holdout_count(20, 0.1), 2);
  EXPECT_EQ(holdout_count(0, 0.3), 0);
}

TEST(ValidationHoldOut, StratifiedSeededAndIndependentOfPackingOrder) {
  const auto dir = fresh_dir("holdout");
  auto clips = testing::make_clips(30, 2, 16, 3, {"train"});  // 10 clips per class.
  testing::write_dataset(dir, clips, kClasses, 2, 16, true, /*clips_per_shard=*/7);
  const auto ds = open(dir);
  ASSERT_EQ(ds->size(), 30);
  const auto h = split_validation(*ds, 0.2, 5);
  // The training set shrinks by the fraction: 2 of 10 per class held out.
  EXPECT_EQ(h.validation.size(), 6u);
  EXPECT_EQ(h.train.size(), 24u);
  std::vector<int> per_class(3, 0);
  for (const auto i : h.validation) ++per_class[static_cast<size_t>(ds->clip(i).label)];
  EXPECT_EQ(per_class, (std::vector<int>{2, 2, 2}));
  std::vector<int64_t> all = h.train;
  all.insert(all.end(), h.validation.begin(), h.validation.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expect(30);
  for (int64_t i = 0; i < 30; ++i) expect[static_cast<size_t>(i)] = i;
  EXPECT_EQ(all, expect) << "train and validation partition the clips";
  // Seeded: the same seed gives the same hold-out, another seed another one.
  EXPECT_EQ(split_validation(*ds, 0.2, 5).validation, h.validation);
  EXPECT_NE(split_validation(*ds, 0.2, 6).validation, h.validation);
  // The same clips packed in another order and other shards: the same clip ids held out.
  const auto other = fresh_dir("holdout_reversed");
  std::reverse(clips.begin(), clips.end());
  testing::write_dataset(other, clips, kClasses, 2, 16, true, /*clips_per_shard=*/4);
  const auto ds2 = open(other);
  EXPECT_EQ(ids_of(*ds2, split_validation(*ds2, 0.2, 5).validation), ids_of(*ds, h.validation));
  // fraction 0: nothing held out.
  EXPECT_TRUE(split_validation(*ds, 0.0, 5).validation.empty());
  stdfs::remove_all(dir);
  stdfs::remove_all(other);
}

TEST(ValidationHoldOut, SubsetKeepsClipsLabelsAndFrames) {
  const auto dir = fresh_dir("subset");
  auto clips = testing::make_clips(9, 2, 16, 3, {"train"});
  testing::write_dataset(dir, clips, kClasses, 2, 16, true, 4);
  const auto ds = open(dir);
  const std::vector<int64_t> pick{1, 4, 8};
  const auto sub = ds->subset(pick);
  ASSERT_EQ(sub->size(), 3);
  EXPECT_EQ(sub->known_classes(), ds->known_classes());
  for (int64_t i = 0; i < 3; ++i) {
    const auto& a = sub->clip(i);
    const auto& b = ds->clip(pick[static_cast<size_t>(i)]);
    EXPECT_EQ(a.index, i);
    EXPECT_EQ(a.clip_id, b.clip_id);
    EXPECT_EQ(a.label, b.label);
    EXPECT_EQ(sub->find(a.clip_id), i);
    EXPECT_EQ(sub->read(i).bytes, ds->read(b.index).bytes);
  }
  EXPECT_EQ(sub->find(ds->clip(0).clip_id), -1);
  stdfs::remove_all(dir);
}

SelectionCounts good_counts() {
  SelectionCounts c;
  c.setting = "afew";
  c.train_split = "Train_AFEW";
  c.test_split = "Val_AFEW";
  c.train_known = {{"Angry", 10}, {"Happy", 10}};
  c.test_known = {{"Angry", 3}, {"Happy", 4}};
  c.test_unknown = {{"Sad", 2}, {"Surprise", 0}};
  return c;
}

TEST(Preconditions, HoldWhenEveryClassHasClips) {
  EXPECT_TRUE(precondition_problems(good_counts()).empty());
  EXPECT_EQ(precondition_failure(good_counts()), "");
  EXPECT_NO_THROW(check_preconditions(good_counts()));
  auto c = good_counts();
  c.validation_fraction = 0.1;  // 1 of 10 per class.
  EXPECT_TRUE(precondition_problems(c).empty());
}

TEST(Preconditions, TestSplitWithoutUnknownClipsIsNamed) {
  auto c = good_counts();
  c.test_unknown = {{"Sad", 0}, {"Surprise", 0}};
  try {
    check_preconditions(c);
    FAIL() << "no unknown test clip must fail";
  } catch (const PreconditionError& e) {
    EXPECT_EQ(e.exit_code(), kExitConfigError);
    const std::string m = e.what();
    EXPECT_THAT(m, HasSubstr("setting afew"));
    EXPECT_THAT(m, HasSubstr("test split \"Val_AFEW\" has no clip of any unknown class"));
    EXPECT_THAT(m, HasSubstr("Sad 0, Surprise 0"));
    EXPECT_THAT(m, HasSubstr("Angry 3, Happy 4"));
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line";
  }
}

TEST(Preconditions, MissingKnownClassInTrainingOrTestIsNamed) {
  auto c = good_counts();
  c.train_known[1].clips = 0;
  c.test_known[0].clips = 0;
  const auto p = precondition_problems(c);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_THAT(p[0], HasSubstr("training split \"Train_AFEW\" has no clip of known class Happy"));
  EXPECT_THAT(p[0], HasSubstr("Angry 10, Happy 0"));
  EXPECT_THAT(p[1], HasSubstr("test split \"Val_AFEW\" has no clip of known class Angry"));
  EXPECT_THAT(precondition_failure(c), HasSubstr("; "));
}

TEST(Preconditions, ValidationHoldOutMustHaveEveryKnownClassAndLeaveTrainingClips) {
  auto c = good_counts();
  c.train_known = {{"Angry", 10}, {"Happy", 4}};
  c.validation_fraction = 0.1;  // Happy: 0.4 rounds to 0.
  auto p = precondition_problems(c);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("validation hold-out (data.validation_fraction 0.1)"));
  EXPECT_THAT(p[0], HasSubstr("no clip of known class Happy (4 clip(s) in training split"));
  c.train_known = {{"Angry", 10}, {"Happy", 1}};
  c.validation_fraction = 0.6;  // Happy: 0.6 rounds to 1 = all of it.
  p = precondition_problems(c);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_THAT(p[0], HasSubstr("takes all 1 clip(s) of known class Happy"));
}

}  // namespace
}  // namespace hesp::data
