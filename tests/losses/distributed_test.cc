// N ranks with B/N clips each must train exactly like one rank with the whole batch of B:
// the SupCon value, and the gradients of a small linear layer after all_reduce_mean.
// The reference runs on every rank from the full batch through a SingleCommunicator.
// Under `mpirun -np 2` the world is MPI; as a plain process it is single (the checks then
// compare single with single, while the term-by-term checks still apply).
#include <gtest/gtest.h>

#include <vector>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "losses/classification.h"
#include "losses/supcon.h"
#include "util/logging.h"

namespace hesp::losses {
namespace {

const auto kDouble = torch::TensorOptions().dtype(torch::kFloat64);
constexpr int64_t kIn = 6, kEmbed = 4;

comm::Communicator& world_comm() { return *comm::world(); }

// The same full batch and layer on every rank (fixed seed, no communication needed).
struct Problem {
  torch::Tensor x, labels, weight, bias;
};

Problem make_problem(int64_t batch) {
  torch::manual_seed(2024);
  Problem p;
  p.x = torch::randn({batch, kIn}, kDouble);
  // Several clips per class, and class 3 appears once (an anchor without positives).
  std::vector<int64_t> y;
  for (int64_t i = 0; i < batch; ++i) y.push_back(i == batch - 1 ? 3 : i % 3);
  p.labels = torch::tensor(y, torch::kLong);
  p.weight = torch::randn({kEmbed, kIn}, kDouble) * 0.5;
  p.bias = torch::randn({kEmbed}, kDouble) * 0.1;
  return p;
}

struct Outcome {
  double supcon = 0;
  torch::Tensor grad_weight, grad_bias;
};

// Loss on rows [begin, end) of the batch with communicator `c`; `with_ce` adds the
// local-mean cross-entropy (the features double as 4-class logits). Gradients are averaged
// over the ranks of `c`, as data-parallel training does.
Outcome run(const Problem& p, int64_t begin, int64_t end, comm::Communicator& c, bool with_ce) {
  auto weight = p.weight.clone().set_requires_grad(true);
  auto bias = p.bias.clone().set_requires_grad(true);
  const auto x = p.x.slice(0, begin, end);
  const auto y = p.labels.slice(0, begin, end);
  const auto features = torch::nn::functional::linear(x, weight, bias);
  const auto z = features / features.norm(2, 1, true);
  const auto sc = supcon(z, y, 0.5, c);
  auto loss = sc;
  if (with_ce) loss = loss + cross_entropy(features, y);
  loss.backward();
  Outcome o{sc.item<double>(), weight.grad().contiguous(), bias.grad().contiguous()};
  c.all_reduce_mean(o.grad_weight);
  c.all_reduce_mean(o.grad_bias);
  return o;
}

void expect_close_relative(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = std::max(want.abs().max().item<double>(), 1e-12);
  EXPECT_LE((got - want).abs().max().item<double>() / scale, 1e-6) << got << "\n" << want;
}

// Rows of rank r when `batch` rows are dealt out in contiguous blocks (the first ranks take
// one more when it does not divide).
std::pair<int64_t, int64_t> my_rows(int64_t batch, const comm::Communicator& c) {
  const int64_t base = batch / c.size(), extra = batch % c.size();
  const int64_t begin = c.rank() * base + std::min<int64_t>(c.rank(), extra);
  return {begin, begin + base + (c.rank() < extra ? 1 : 0)};
}

TEST(DistributedLoss, SupConAndTotalLossEqualOneRankWithTheWholeBatch) {
  auto& world = world_comm();
  const int64_t batch = 4 * world.size() * 3;  // Divisible: the CE local means average exactly.
  const Problem p = make_problem(batch);
  comm::SingleCommunicator single;
  for (bool with_ce : {false, true}) {
    SCOPED_TRACE(with_ce ? "CE + SupCon" : "SupCon");
    const Outcome reference = run(p, 0, batch, single, with_ce);
    const auto [begin, end] = my_rows(batch, world);
    const Outcome split = run(p, begin, end, world, with_ce);
    EXPECT_NEAR(split.supcon, reference.supcon, 1e-12);
    expect_close_relative(split.grad_weight, reference.grad_weight);
    expect_close_relative(split.grad_bias, reference.grad_bias);
  }
}

TEST(DistributedLoss, SupConWithUnequalShardsStillMatches) {
  // SupCon alone does not need equal shards: gather_with_grad is all_gather_v.
  auto& world = world_comm();
  const int64_t batch = 7 * world.size() + 1;
  const Problem p = make_problem(batch);
  comm::SingleCommunicator single;
  const Outcome reference = run(p, 0, batch, single, false);
  const auto [begin, end] = my_rows(batch, world);
  const Outcome split = run(p, begin, end, world, false);
  EXPECT_NEAR(split.supcon, reference.supcon, 1e-12);
  expect_close_relative(split.grad_weight, reference.grad_weight);
  expect_close_relative(split.grad_bias, reference.grad_bias);
}

TEST(DistributedLoss, EveryRankComputesTheSameGlobalValue) {
  auto& world = world_comm();
  const int64_t batch = 5 * world.size();
  const Problem p = make_problem(batch);
  const auto [begin, end] = my_rows(batch, world);
  const double mine = run(p, begin, end, world, false).supcon;
  EXPECT_EQ(world.all_reduce_double(mine, comm::ReduceOp::kMax),
            world.all_reduce_double(mine, comm::ReduceOp::kMin));
}

}  // namespace
}  // namespace hesp::losses
