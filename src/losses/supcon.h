#pragma once
// Supervised contrastive loss over the global batch (spec §7, part of L_KN).
#include <torch/torch.h>

#include "comm/communicator.h"

namespace hesp::losses {

// z: [b, E] L2-normalised features of this rank's clips, labels: [b]. Features and labels
// are gathered from every rank (features with gradient, see gather_with_grad), so every
// rank computes the loss of the whole global batch of B clips:
//   s_ij = z_i . z_j / tau,  log p_ij = s_ij - log sum_{k != i} exp(s_ik)
//   loss_i = -tau * mean_{j != i, y_j = y_i} log p_ij
//   loss = mean of loss_i over the anchors i that have at least one positive
// (0, still connected to z, when no anchor has one). tau defaults to 0.5 (tau_sup).
torch::Tensor supcon(const torch::Tensor& z, const torch::Tensor& labels, double tau,
                     comm::Communicator& comm);

}  // namespace hesp::losses
