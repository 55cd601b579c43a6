// Bucketed gradient averaging against averages each rank computes locally from every
// rank's known gradients. One process and mpirun -np 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "optim/gradient_allreduce.h"
#include "test_support.h"
#include "util/errors.h"

namespace hesp::train {
namespace {

using ::testing::HasSubstr;
using testing::world;

// Rank r's gradient for tensor k, element i: distinct per rank, tensor and element.
torch::Tensor known_grad(int r, int k, at::IntArrayRef shape, torch::ScalarType type) {
  const int64_t n = c10::multiply_integers(shape);
  auto t = torch::arange(n, torch::kFloat64) * (0.5 + k) + 100.0 * r - 7.0 * k;
  return t.reshape(shape).to(type);
}

torch::Tensor mean_over_ranks(int k, at::IntArrayRef shape, torch::ScalarType type) {
  auto sum = torch::zeros(shape, torch::kFloat64);
  for (int r = 0; r < world().size(); ++r) sum += known_grad(r, k, shape, torch::kFloat64);
  return (sum / world().size()).to(type);
}

TEST(Buckets, BoundariesFollowCapAndDtype) {
  std::vector<torch::Tensor> t = {torch::zeros({10}),
                                  torch::zeros({4, 5}),
                                  torch::zeros({5}),    // 40 B, 80 B, 20 B
                                  torch::zeros({100}),  // 400 B > cap: alone
                                  torch::zeros({2}, torch::kFloat64),
                                  torch::zeros({3}, torch::kFloat64),  // 16 B, 24 B
                                  torch::zeros({1})};                  // dtype change
  const auto b = optim::plan_buckets(t, /*cap_bytes=*/120);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].indices, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(b[0].offsets, (std::vector<int64_t>{0, 10}));
  EXPECT_EQ(b[0].numel, 30);
  EXPECT_EQ(b[1].indices, (std::vector<size_t>{2}));
  EXPECT_EQ(b[2].indices, (std::vector<size_t>{3}));
  EXPECT_EQ(b[3].indices, (std::vector<size_t>{4, 5}));
  EXPECT_EQ(b[3].dtype, torch::kFloat64);
  EXPECT_EQ(b[4].indices, (std::vector<size_t>{6}));
  // Every tensor in exactly one bucket, in order.
  size_t next = 0;
  for (const auto& bucket : b) {
    for (size_t i : bucket.indices) EXPECT_EQ(i, next++);
  }
  EXPECT_EQ(next, t.size());
}

TEST(Buckets, AverageEqualsLocalMeanIncludingNonContiguous) {
  const int r = world().rank();
  std::vector<std::vector<int64_t>> shapes = {{7}, {3, 4}, {2, 3, 5}, {1}, {64}};
  std::vector<torch::Tensor> grads;
  for (size_t k = 0; k < shapes.size(); ++k)
    grads.push_back(known_grad(r, k, shapes[k], torch::kFloat));
  auto base = known_grad(r, 9, {4, 6}, torch::kFloat64);
  grads.push_back(base.t());  // Non-contiguous view; written through to `base`.
  const int calls = optim::all_reduce_mean_bucketed(world(), grads, /*cap_bytes=*/64);
  EXPECT_EQ(calls, static_cast<int>(optim::plan_buckets(grads, 64).size()));
  EXPECT_GT(calls, 3);
  for (size_t k = 0; k < shapes.size(); ++k) {
    EXPECT_TRUE(torch::allclose(grads[k], mean_over_ranks(k, shapes[k], torch::kFloat), 1e-6, 1e-5))
        << "tensor " << k;
  }
  EXPECT_TRUE(torch::allclose(base, mean_over_ranks(9, {4, 6}, torch::kFloat64), 1e-12, 1e-12));
}

std::vector<torch::Tensor> make_params() {
  return {torch::zeros({5}, torch::requires_grad()), torch::zeros({3, 3}, torch::requires_grad()),
          torch::zeros({2}, torch::requires_grad()), torch::zeros({40}, torch::requires_grad()),
          torch::zeros({4}, torch::requires_grad())};
}

TEST(GradientAllReducer, AfterBackwardEveryGradIsTheMean) {
  const int r = world().rank();
  auto params = make_params();
  for (size_t k = 0; k < params.size(); ++k) {
    if (k == 2) continue;  // No gradient on any rank: becomes zeros.
    params[k].mutable_grad() = known_grad(r, k, params[k].sizes(), torch::kFloat);
  }
  optim::GradientAllReducer reducer(world(), params, /*cap_bytes=*/48);
  reducer.all_reduce_grads();
  EXPECT_EQ(reducer.collectives(), static_cast<int64_t>(reducer.bucket_count()));
  for (size_t k = 0; k < params.size(); ++k) {
    const auto expected =
        k == 2 ? torch::zeros({2}) : mean_over_ranks(k, params[k].sizes(), torch::kFloat);
    EXPECT_TRUE(torch::allclose(params[k].grad(), expected, 1e-6, 1e-5)) << "param " << k;
  }
}

// loss = sum_k <p_k, g_{r,k}> so that d loss / d p_k = g_{r,k} exactly; parameter 4 is
// used on rank 0 only (its mean is g_{0,4} / size), parameter 2 on no rank.
torch::Tensor rank_loss(const std::vector<torch::Tensor>& p, int r) {
  auto loss = torch::zeros({}, torch::kFloat);
  for (size_t k = 0; k < p.size(); ++k) {
    if (k == 2 || (k == 4 && r != 0)) continue;
    loss = loss + (p[k] * known_grad(r, k, p[k].sizes(), torch::kFloat)).sum();
  }
  return loss;
}

// The trainer's path (hooks, asynchronous all-reduce during backward) gives bit for bit
// the gradients of averaging after backward.
TEST(GradientAllReducer, HooksGiveTheSameBitsAsAveragingAfterBackward) {
  const int r = world().rank();
  auto after = make_params();
  rank_loss(after, r).backward();
  for (auto& p : after) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  }
  optim::GradientAllReducer plain(world(), after, /*cap_bytes=*/48);
  plain.all_reduce_grads();

  auto hooked = make_params();
  optim::GradientAllReducer overlapped(world(), hooked, /*cap_bytes=*/48);
  overlapped.enable_hooks();
  rank_loss(hooked, r).backward();
  overlapped.finish();
  for (size_t k = 0; k < after.size(); ++k) {
    EXPECT_TRUE(torch::equal(hooked[k].grad(), after[k].grad())) << "param " << k;
  }
}

TEST(GradientAllReducer, HooksLaunchBucketsDuringBackwardAndAccumulate) {
  const int r = world().rank();
  auto params = make_params();
  optim::GradientAllReducer reducer(world(), params, /*cap_bytes=*/48);
  ASSERT_GE(reducer.bucket_count(), 3u);
  reducer.enable_hooks();
  for (int round = 1; round <= 2; ++round) {
    const int64_t before = reducer.collectives();
    rank_loss(params, r).backward();
    // Bucket 0 holds parameters used on every rank: it launched inside backward.
    EXPECT_GT(reducer.collectives(), before) << "round " << round;
    reducer.finish();
    EXPECT_EQ(reducer.collectives() - before, static_cast<int64_t>(reducer.bucket_count()));
    for (size_t k = 0; k < params.size(); ++k) {
      torch::Tensor mean;
      if (k == 2) {
        mean = torch::zeros({2});
      } else if (k == 4) {
        mean = known_grad(0, 4, {4}, torch::kFloat) / world().size();
      } else {
        mean = mean_over_ranks(k, params[k].sizes(), torch::kFloat);
      }
      // Accumulation across rounds, as plain backward() without zero_grad would do.
      EXPECT_TRUE(torch::allclose(params[k].grad(), mean * round, 1e-6, 1e-5))
          << "param " << k << " round " << round << "\n"
          << params[k].grad() << "\n"
          << mean;
    }
  }
}

TEST(StartupChecks, BroadcastParametersCopiesRankZero) {
  const int r = world().rank();
  auto a = (torch::arange(6, torch::kFloat) + 10 * r).reshape({2, 3}).requires_grad_();
  auto b = torch::full({3, 2}, static_cast<double>(r), torch::kFloat64);
  auto bt = b.t();  // Non-contiguous alias.
  optim::broadcast_parameters(world(), {a, bt});
  EXPECT_TRUE(torch::equal(a.detach(), torch::arange(6, torch::kFloat).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(b, torch::zeros({3, 2}, torch::kFloat64)));
  EXPECT_TRUE(a.requires_grad());
}

TEST(StartupChecks, SameShapesPass) {
  std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"prompt.delta", torch::zeros({3, 56, 56})}, {"prompt.ctx", torch::zeros({7, 16, 512})}};
  EXPECT_NO_THROW(optim::check_same_shapes(world(), named));
}

TEST(StartupChecks, MismatchNamesRankAndTensor) {
  auto& c = world();
  if (c.size() < 2) GTEST_SKIP() << "needs two ranks";
  const int odd = c.size() - 1;
  std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"prompt.delta", torch::zeros({3, 56, 56})},
      {"prompt.ctx", torch::zeros({7, c.rank() == odd ? 8 : 16, 512})}};
  try {
    optim::check_same_shapes(c, named);
    ADD_FAILURE() << "mismatch accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor 'prompt.ctx' is Float[7, 8, 512] on rank " +
                                    std::to_string(odd) + " but Float[7, 16, 512] on rank 0"));
  }
  // A missing tensor on one rank.
  named.resize(c.rank() == odd ? 1 : 2);
  named[0].second = torch::zeros({3, 56, 56});
  if (named.size() == 2) named[1].second = torch::zeros({7, 16, 512});
  try {
    optim::check_same_shapes(c, named);
    ADD_FAILURE() << "missing tensor accepted";
  } catch (const UserError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing on rank " + std::to_string(odd) + ": 'prompt.ctx'"));
  }
}

}  // namespace
}  // namespace hesp::train
