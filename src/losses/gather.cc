#include "losses/gather.h"

#include <glog/logging.h>

#include <cstdint>

namespace hesp::losses {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class GatherWithGrad : public torch::autograd::Function<GatherWithGrad> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local,
                               comm::Communicator* comm) {
    CHECK_GE(local.dim(), 1) << "gather_with_grad needs a leading batch dimension";
    const int64_t rows = local.size(0);
    // Rows per rank, to find where this rank's slice starts in the gathered tensor.
    const auto counts = comm->all_gather_v(torch::full({1}, rows, torch::kLong)).to(torch::kCPU);
    int64_t offset = 0;
    for (int r = 0; r < comm->rank(); ++r) offset += counts[r].item<int64_t>();
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = rows;
    // The communicator is not an IValue; it is kept as an address (see the header's
    // lifetime rule).
    ctx->saved_data["comm"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(comm));
    return comm->all_gather_v(local.contiguous());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto* comm = reinterpret_cast<comm::Communicator*>(
        static_cast<intptr_t>(ctx->saved_data["comm"].toInt()));
    const int64_t offset = ctx->saved_data["offset"].toInt();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    torch::Tensor summed = grads[0].contiguous().clone();
    comm->all_reduce(summed, comm::ReduceOp::kSum);
    return {summed.narrow(0, offset, rows), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gather_with_grad(const torch::Tensor& local, comm::Communicator& comm) {
  return GatherWithGrad::apply(local, &comm);
}

}  // namespace hesp::losses
