// Learning-rate schedules at the epochs where they change (spec §8).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "optim/lr_schedule.h"
#include "util/errors.h"

namespace hesp::train {
namespace {

using config::ScheduleConfig;

void expect_lr(const optim::LrSchedule& s, int epoch, double expected) {
  EXPECT_NEAR(s.lr(epoch), expected, expected * 1e-12) << "epoch " << epoch;
}

ScheduleConfig kind(ScheduleConfig::Kind k) {
  ScheduleConfig c;
  c.set_kind(k);
  return c;
}

TEST(LrSchedule, ReferenceDropsAt30_60_90) {
  const auto s = optim::LrSchedule::from_config(kind(ScheduleConfig::reference), 0.01f);
  EXPECT_EQ(s.total_epochs(), 100);
  expect_lr(s, 0, 1e-2);
  expect_lr(s, 29, 1e-2);
  expect_lr(s, 30, 1e-3);
  expect_lr(s, 59, 1e-3);
  expect_lr(s, 60, 1e-4);
  expect_lr(s, 89, 1e-4);
  expect_lr(s, 90, 1e-5);
  expect_lr(s, 99, 1e-5);
  EXPECT_EQ(s.describe(), "100 epochs, lr 0.01, x0.1 at 30, 60, 90");
}

TEST(LrSchedule, PaperDropsEvery30For200Epochs) {
  const auto s = optim::LrSchedule::from_config(kind(ScheduleConfig::paper), 0.01f);
  EXPECT_EQ(s.total_epochs(), 200);
  EXPECT_EQ(s.milestones(), (std::vector<int>{30, 60, 90, 120, 150, 180}));
  expect_lr(s, 29, 1e-2);
  expect_lr(s, 30, 1e-3);
  expect_lr(s, 119, 1e-5);
  expect_lr(s, 120, 1e-6);
  expect_lr(s, 179, 1e-7);
  expect_lr(s, 180, 1e-8);
  expect_lr(s, 199, 1e-8);
}

TEST(LrSchedule, EpochsOverrideTheKindsCount) {
  auto c = kind(ScheduleConfig::reference);
  c.set_epochs(50);
  const auto r = optim::LrSchedule::from_config(c, 0.01f);
  EXPECT_EQ(r.total_epochs(), 50);
  expect_lr(r, 49, 1e-3);
  auto p = kind(ScheduleConfig::paper);
  p.set_epochs(91);
  const auto q = optim::LrSchedule::from_config(p, 0.01f);
  EXPECT_EQ(q.total_epochs(), 91);
  EXPECT_EQ(q.milestones(), (std::vector<int>{30, 60, 90}));
  expect_lr(q, 90, 1e-5);
}

TEST(LrSchedule, CustomMilestonesAndGamma) {
  auto c = kind(ScheduleConfig::custom);
  c.set_epochs(10);
  c.add_milestones(3);
  c.add_milestones(7);
  c.set_gamma(0.5f);
  const auto s = optim::LrSchedule::from_config(c, 0.2f);
  EXPECT_EQ(s.total_epochs(), 10);
  expect_lr(s, 0, 0.2);
  expect_lr(s, 2, 0.2);
  expect_lr(s, 3, 0.1);
  expect_lr(s, 6, 0.1);
  expect_lr(s, 7, 0.05);
  expect_lr(s, 9, 0.05);
  // No milestones: constant.
  auto flat = kind(ScheduleConfig::custom);
  flat.set_epochs(4);
  expect_lr(optim::LrSchedule::from_config(flat, 0.03f), 3, 0.03);
}

TEST(LrSchedule, ConfigMistakesAreConfigErrors) {
  auto c = kind(ScheduleConfig::custom);
  EXPECT_THROW(optim::LrSchedule::from_config(c, 0.01f), ConfigError);  // epochs missing.
  auto r = kind(ScheduleConfig::reference);
  r.add_milestones(10);
  try {
    optim::LrSchedule::from_config(r, 0.01f);
    ADD_FAILURE() << "milestones with kind reference accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("schedule.milestones"));
  }
  auto bad = kind(ScheduleConfig::custom);
  bad.set_epochs(10);
  bad.add_milestones(5);
  bad.add_milestones(5);
  EXPECT_THROW(optim::LrSchedule::from_config(bad, 0.01f), ConfigError);
}

TEST(LrSchedule, FloatConfigValuesReadAsWritten) {
  EXPECT_EQ(optim::float_as_written(0.1f), 0.1);
  EXPECT_EQ(optim::float_as_written(0.01f), 0.01);
  EXPECT_EQ(optim::float_as_written(1e-4f), 1e-4);
  EXPECT_NE(static_cast<double>(0.1f), 0.1);  // Why the helper exists.
}

}  // namespace
}  // namespace hesp::train
