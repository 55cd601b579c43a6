// Collective semantics, checked against values each rank computes locally. The same
// binary runs as a plain process (SingleCommunicator) and under `mpirun -np 2` (MPI), so
// both backends pass the same tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "comm/root_decision.h"
#include "util/errors.h"
#include "util/logging.h"

namespace hesp::comm {
namespace {

Communicator& world_comm() { return *world(); }

// The value rank r contributes at element i.
double contribution(int r, int64_t i) { return 1.5 * r + 0.25 * static_cast<double>(i) + 1; }

// Rank 0 decides: every rank gets rank 0's answer, or the same error with its exit code.
TEST(RootDecision, EveryRankGetsTheAnswerOrTheSameError) {
  auto& c = world_comm();
  EXPECT_EQ(decide_on_root(c, [&] { return "rank " + std::to_string(c.rank()) + " decided"; }),
            "rank 0 decided");
  EXPECT_EQ(decide_on_root(c, [] { return std::string(); }), "");
  try {
    decide_on_root(c, []() -> std::string { throw ConfigError("field x is bad"); });
    ADD_FAILURE() << "rank " << c.rank() << " got no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "field x is bad");
    EXPECT_EQ(e.exit_code(), kExitConfigError);
  }
  try {
    decide_on_root(c, []() -> std::string { throw UserError("disk full: /x", kExitFailure); });
    ADD_FAILURE() << "rank " << c.rank() << " got no error";
  } catch (const ConfigError&) {
    ADD_FAILURE() << "a runtime error became a config error";
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(), "disk full: /x");
    EXPECT_EQ(e.exit_code(), kExitFailure);
  }
}

TEST(Collectives, SizeMatchesLauncher) {
  auto& c = world_comm();
  EXPECT_EQ(c.all_reduce_int(1, ReduceOp::kSum), c.size());
  EXPECT_GE(c.local_rank(), 0);
  EXPECT_LT(c.local_rank(), c.local_size());
  EXPECT_LE(c.local_size(), c.size());
  if (launched_by_mpi()) {
    EXPECT_EQ(c.backend(), Backend::kMpi);
  } else {
    EXPECT_EQ(c.backend(), Backend::kSingle);
  }
}

TEST(Collectives, BarrierAndBroadcastFromEveryRoot) {
  auto& c = world_comm();
  c.barrier();
  for (int root = 0; root < c.size(); ++root) {
    auto t = torch::full({3, 4}, static_cast<float>(c.rank() * 100 + 7));
    c.broadcast(t, root);
    EXPECT_TRUE(torch::equal(t, torch::full({3, 4}, static_cast<float>(root * 100 + 7))))
        << "root " << root;
    std::string s = c.rank() == root ? std::string(1000 + root, 'a' + root) : "junk";
    c.broadcast_bytes(s, root);
    EXPECT_EQ(s, std::string(1000 + root, 'a' + root));
    std::string empty = c.rank() == root ? "" : "not empty";
    c.broadcast_bytes(empty, root);
    EXPECT_TRUE(empty.empty());
  }
}

template <typename T>
void check_all_reduce(torch::ScalarType type) {
  auto& c = world_comm();
  const int64_t n = 37;
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin}) {
    auto t = torch::empty({n}, type);
    auto expected = torch::empty({n}, torch::kFloat64);
    for (int64_t i = 0; i < n; ++i) {
      t[i] = static_cast<T>(contribution(c.rank(), i) * ((i % 3 == 0) ? -1 : 1));
      double acc =
          op == ReduceOp::kSum ? 0 : static_cast<T>(contribution(0, i) * ((i % 3 == 0) ? -1 : 1));
      for (int r = 0; r < c.size(); ++r) {
        const double v = static_cast<T>(contribution(r, i) * ((i % 3 == 0) ? -1 : 1));
        if (op == ReduceOp::kSum) acc += v;
        if (op == ReduceOp::kMax) acc = std::max(acc, v);
        if (op == ReduceOp::kMin) acc = std::min(acc, v);
      }
      expected[i] = acc;
    }
    c.all_reduce(t, op);
    EXPECT_TRUE(torch::allclose(t.to(torch::kFloat64), expected, 1e-6, 1e-6))
        << "op " << static_cast<int>(op) << " dtype " << type << "\n"
        << t << "\n"
        << expected;
  }
}

TEST(Collectives, AllReduceFloat) { check_all_reduce<float>(torch::kFloat); }
TEST(Collectives, AllReduceDouble) { check_all_reduce<double>(torch::kFloat64); }
TEST(Collectives, AllReduceInt32) { check_all_reduce<int32_t>(torch::kInt); }
TEST(Collectives, AllReduceInt64) { check_all_reduce<int64_t>(torch::kLong); }

TEST(Collectives, AllReduceMean) {
  auto& c = world_comm();
  auto t = torch::full({5}, static_cast<float>(c.rank() + 1));
  c.all_reduce_mean(t);
  const float expected = (c.size() + 1) / 2.0f;  // mean of 1..size
  EXPECT_TRUE(torch::allclose(t, torch::full({5}, expected)));
}

// Several all-reduces in flight at once, completed out of launch order, one of them only
// by its handle's destructor: each ends as the sum over ranks.
TEST(Collectives, AllReduceAsyncSeveralInFlight) {
  auto& c = world_comm();
  std::vector<torch::Tensor> ts;
  for (int k = 0; k < 3; ++k) ts.push_back(torch::full({1000 * (k + 1)}, c.rank() + 1.0 + k));
  std::vector<std::unique_ptr<PendingCollective>> ops;
  for (auto& t : ts) ops.push_back(c.all_reduce_async(t, ReduceOp::kSum));
  ops[2]->wait();
  ops[0]->wait();
  EXPECT_TRUE(ops[0]->test());
  ops[1].reset();  // The destructor waits.
  const double ranks_sum = c.size() * (c.size() + 1) / 2.0;
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(torch::equal(ts[k], torch::full({1000 * (k + 1)}, ranks_sum + c.size() * k)))
        << "tensor " << k;
  }
}

// all_reduce_async returns before the collective can complete: rank 0 starts it while
// the other ranks wait (for a file that rank 0 makes only after its test(), so no clock
// decides), and test() says it is not done; wait() then finishes it.
TEST(Collectives, AllReduceAsyncDoesNotWaitForThePeers) {
  auto& c = world_comm();
  if (c.size() < 2) GTEST_SKIP() << "one rank: nothing to wait for";
  std::string go = c.rank() == 0 ? (std::filesystem::temp_directory_path() /
                                    ("hesp_async_go_" + std::to_string(::getpid())))
                                       .string()
                                 : std::string();
  c.broadcast_bytes(go, 0);
  auto t = torch::full({64}, static_cast<float>(c.rank() + 1));
  if (c.rank() != 0) {
    while (!std::filesystem::exists(go)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto op = c.all_reduce_async(t, ReduceOp::kSum);
  if (c.rank() == 0) {
    EXPECT_FALSE(op->test()) << "completed without the other ranks";
    std::ofstream(go) << "";
  }
  op->wait();
  c.barrier();
  if (c.rank() == 0) std::filesystem::remove(go);
  EXPECT_TRUE(torch::equal(t, torch::full({64}, c.size() * (c.size() + 1) / 2.0f)));
}

TEST(Collectives, AllGatherEqualSizes) {
  auto& c = world_comm();
  auto mine = torch::arange(6, torch::kFloat).reshape({2, 3}) + 10.0f * c.rank();
  auto all = c.all_gather(mine);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{2 * c.size(), 3}));
  for (int r = 0; r < c.size(); ++r) {
    auto expected = torch::arange(6, torch::kFloat).reshape({2, 3}) + 10.0f * r;
    EXPECT_TRUE(torch::equal(all.narrow(0, 2 * r, 2), expected)) << "part of rank " << r;
  }
}

TEST(Collectives, AllGatherDifferentSizes) {
  auto& c = world_comm();
  // Rank r contributes r + 1 rows of width 4 (rank 0 one row, rank 1 two rows, ...).
  auto mine = torch::full({c.rank() + 1, 4}, static_cast<int64_t>(c.rank()), torch::kLong);
  auto all = c.all_gather_v(mine);
  const int64_t rows = c.size() * (c.size() + 1) / 2;
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{rows, 4}));
  int64_t row = 0;
  for (int r = 0; r < c.size(); ++r) {
    for (int k = 0; k <= r; ++k, ++row) {
      EXPECT_TRUE(torch::equal(all[row], torch::full({4}, static_cast<int64_t>(r), torch::kLong)));
    }
  }
  // A rank with zero rows is legal.
  auto maybe_empty = c.rank() == 0 ? torch::empty({0, 2}) : torch::ones({1, 2});
  EXPECT_EQ(c.all_gather_v(maybe_empty).size(0), c.size() - 1);
}

TEST(Collectives, SplitIntoGroups) {
  auto& c = world_comm();
  const int color = c.rank() % 2;
  auto sub = c.split(color, /*key=*/-c.rank());  // Reverse order inside each group.
  int members = 0, expected_rank = 0;
  for (int r = 0; r < c.size(); ++r) {
    if (r % 2 != color) continue;
    ++members;
    if (r > c.rank()) ++expected_rank;  // Higher ranks come first (key = -rank).
  }
  EXPECT_EQ(sub->size(), members);
  EXPECT_EQ(sub->rank(), expected_rank);
  // Sum of world ranks inside my group, computed by the sub-communicator.
  int64_t expected_sum = 0;
  for (int r = color; r < c.size(); r += 2) expected_sum += r;
  EXPECT_EQ(sub->all_reduce_int(c.rank(), ReduceOp::kSum), expected_sum);
  sub->barrier();
}

}  // namespace
}  // namespace hesp::comm
