// The stall inspector's decisions in one process, on a clock the test drives (no sleeps):
// when it warns, whom it names, when it aborts, a mismatch of operations, and 0 = never.
#include "comm/stall_inspector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hesp::comm {
namespace {

using ::testing::HasSubstr;

struct FakeClock {
  double now = 1000.0;
  StallInspector::Clock clock() {
    return [this] { return now; };
  }
};

TEST(StallInspectorUnit, WarnsAfterTheWarningTimeNamingTheMissingRanks) {
  FakeClock t;
  StallInspector rank0(0, 3, t.clock());
  rank0.set_timeouts({/*stall_warning_s=*/10, /*stall_abort_s=*/0, 0});
  EXPECT_EQ(rank0.begin(CollectiveOp::kAllReduce), 1);
  rank0.announced(1, 1, CollectiveOp::kAllReduce);
  rank0.start_wait();
  t.now += 9.5;
  EXPECT_FALSE(rank0.due());
  t.now += 1;
  ASSERT_TRUE(rank0.due());
  const StallReport r = rank0.inspect();
  EXPECT_FALSE(r.abort);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("collective #1 (all_reduce) has waited 10 s"));
  EXPECT_THAT(r.warnings[0], HasSubstr("ranks that have not reached it: 2"));
  // The next warning comes one warning time later, not at every poll.
  EXPECT_FALSE(rank0.due());
  t.now += 10;
  EXPECT_TRUE(rank0.due());
  // Once every rank has arrived, nobody is missing.
  rank0.announced(2, 1, CollectiveOp::kAllReduce);
  EXPECT_THAT(rank0.inspect().warnings.at(0), HasSubstr("none (they are inside it)"));
}

TEST(StallInspectorUnit, OtherRanksWarnThatTheyWait) {
  FakeClock t;
  StallInspector rank1(1, 2, t.clock());
  rank1.set_timeouts({5, 0, 0});
  rank1.begin(CollectiveOp::kBarrier);
  rank1.begin(CollectiveOp::kBroadcast);
  rank1.start_wait();
  t.now += 6;
  ASSERT_TRUE(rank1.due());
  const auto r = rank1.inspect();
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("rank 1 has waited 6 s in collective #2 (broadcast)"));
}

TEST(StallInspectorUnit, AbortsAfterTheAbortTime) {
  FakeClock t;
  StallInspector rank0(0, 2, t.clock());
  rank0.set_timeouts({/*stall_warning_s=*/0.5, /*stall_abort_s=*/2, 0});
  rank0.begin(CollectiveOp::kAllReduce);
  rank0.start_wait();
  t.now += 1.9;
  ASSERT_TRUE(rank0.due());
  EXPECT_FALSE(rank0.inspect().abort);
  t.now += 0.2;
  const auto r = rank0.inspect();
  EXPECT_TRUE(r.abort);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "aborting the job: collective #1 (all_reduce) stalled for more than 2 s");
}

TEST(StallInspectorUnit, ZeroMeansNever) {
  FakeClock t;
  StallInspector rank0(0, 2, t.clock());
  rank0.set_timeouts({0, 0, 0});
  rank0.begin(CollectiveOp::kAllReduce);
  rank0.start_wait();
  t.now += 1e9;
  EXPECT_FALSE(rank0.due());
  // Abort without warnings: due at the abort time only, and no warning line.
  rank0.set_timeouts({0, 30, 0});
  rank0.start_wait();
  t.now += 29;
  EXPECT_FALSE(rank0.due());
  t.now += 2;
  ASSERT_TRUE(rank0.due());
  const auto r = rank0.inspect();
  EXPECT_TRUE(r.abort);
  EXPECT_TRUE(r.warnings.empty());
}

TEST(StallInspectorUnit, DifferentOperationsWithTheSameNumberAbortNamingBoth) {
  FakeClock t;
  StallInspector rank0(0, 2, t.clock());
  rank0.set_timeouts({1, 0, 0});
  rank0.begin(CollectiveOp::kBarrier);
  rank0.announced(1, 1, CollectiveOp::kBroadcast);
  rank0.start_wait();
  t.now += 1;
  const auto r = rank0.inspect();
  EXPECT_TRUE(r.abort);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "collective mismatch: rank 0 is in #1 barrier but rank 1 is in #1 broadcast; "
            "aborting the job");
}

TEST(StallInspectorUnit, AnnouncementsPackAndOlderOnesAreIgnored) {
  for (int op = 0; op <= 8; ++op) {
    int64_t seq = 0;
    CollectiveOp got = CollectiveOp::kUnknown;
    StallInspector::unpack(StallInspector::pack(123456, static_cast<CollectiveOp>(op)), &seq, &got);
    EXPECT_EQ(seq, 123456);
    EXPECT_EQ(static_cast<int>(got), op);
  }
  EXPECT_STREQ(collective_op_name(CollectiveOp::kAllGatherVSizes), "all_gather_v(sizes)");
  FakeClock t;
  StallInspector rank0(0, 2, t.clock());
  rank0.set_timeouts({1, 0, 0});
  rank0.begin(CollectiveOp::kAllReduce);
  rank0.begin(CollectiveOp::kAllReduce);
  rank0.announced(1, 2, CollectiveOp::kAllReduce);
  rank0.announced(1, 1, CollectiveOp::kBarrier);  // Arrives late: ignored.
  rank0.start_wait();
  t.now += 1;
  const auto r = rank0.inspect();
  EXPECT_FALSE(r.abort);
  EXPECT_THAT(r.warnings.at(0), HasSubstr("none (they are inside it)"));
}

}  // namespace
}  // namespace hesp::comm
