#include "losses/supcon.h"

#include <glog/logging.h>

#include <limits>

#include "losses/gather.h"

namespace hesp::losses {

torch::Tensor supcon(const torch::Tensor& z, const torch::Tensor& labels, double tau,
                     comm::Communicator& comm) {
  CHECK_EQ(z.dim(), 2) << "supcon features must be [batch, E]";
  CHECK_EQ(labels.dim(), 1);
  CHECK_EQ(labels.size(0), z.size(0)) << "one label per feature row";
  CHECK_GT(tau, 0.0);
  const torch::Tensor all_z = gather_with_grad(z, comm);
  const torch::Tensor all_y =
      comm.all_gather_v(labels.to(torch::kLong).contiguous()).to(all_z.device());
  const int64_t batch = all_z.size(0);

  const auto bool_opts = torch::TensorOptions().dtype(torch::kBool).device(all_z.device());
  const torch::Tensor self = torch::eye(batch, bool_opts);
  const torch::Tensor positives =
      all_y.unsqueeze(1).eq(all_y.unsqueeze(0)).logical_and(self.logical_not());
  const torch::Tensor num_positives = positives.sum(1);
  // Only anchors with a positive enter; their rows also always have a k != i, so the
  // log-sum-exp below is finite (a lone anchor would give log(0)).
  const torch::Tensor anchors = num_positives.gt(0).nonzero().squeeze(1);
  if (anchors.numel() == 0) return all_z.sum() * 0.0;

  const torch::Tensor sim = all_z.index_select(0, anchors).matmul(all_z.t()) / tau;  // [A, B]
  // k != i: the anchor's own column drops out of the denominator. logsumexp subtracts the
  // row maximum internally, so large 1/tau stays finite.
  const torch::Tensor log_denominator = torch::logsumexp(
      sim.masked_fill(self.index_select(0, anchors), -std::numeric_limits<double>::infinity()),
      /*dim=*/1, /*keepdim=*/true);
  const torch::Tensor log_prob = sim - log_denominator;
  const torch::Tensor pos = positives.index_select(0, anchors).to(sim.scalar_type());
  const torch::Tensor mean_log_prob =
      (log_prob * pos).sum(1) / num_positives.index_select(0, anchors).to(sim.scalar_type());
  return (-tau * mean_log_prob).mean();
}

}  // namespace hesp::losses
