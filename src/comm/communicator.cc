#include "comm/communicator.h"

#include <glog/logging.h>

namespace hesp::comm {

namespace {

class CompletedCollective final : public PendingCollective {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<PendingCollective> Communicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  all_reduce(t, op);
  return std::make_unique<CompletedCollective>();
}

void Communicator::all_reduce_mean(torch::Tensor& t) {
  all_reduce(t, ReduceOp::kSum);
  if (size() > 1) t.div_(size());
}

std::string Communicator::broadcast_string(const std::string& s, int root) {
  std::string copy = s;
  broadcast_bytes(copy, root);
  return copy;
}

int64_t Communicator::all_reduce_int(int64_t v, ReduceOp op) {
  auto t = torch::tensor({v}, torch::kInt64);
  all_reduce(t, op);
  return t.item<int64_t>();
}

double Communicator::all_reduce_double(double v, ReduceOp op) {
  auto t = torch::tensor({v}, torch::kFloat64);
  all_reduce(t, op);
  return t.item<double>();
}

void SingleCommunicator::broadcast(torch::Tensor& t, int root) {
  CHECK_EQ(root, 0) << "broadcast root out of range";
  CHECK(t.is_contiguous());
}

void SingleCommunicator::broadcast_bytes(std::string&, int root) {
  CHECK_EQ(root, 0) << "broadcast root out of range";
}

void SingleCommunicator::all_reduce(torch::Tensor& t, ReduceOp) {
  CHECK(t.is_contiguous());
  const auto type = t.scalar_type();
  CHECK(type == torch::kFloat || type == torch::kDouble || type == torch::kInt ||
        type == torch::kLong)
      << "all_reduce: unsupported dtype " << type;
}

torch::Tensor SingleCommunicator::all_gather(const torch::Tensor& t) {
  CHECK_GE(t.dim(), 1) << "all_gather needs a tensor with a leading dimension";
  return t.clone();
}

torch::Tensor SingleCommunicator::all_gather_v(const torch::Tensor& t) { return all_gather(t); }

std::unique_ptr<Communicator> SingleCommunicator::split(int, int) {
  return std::make_unique<SingleCommunicator>();
}

}  // namespace hesp::comm
