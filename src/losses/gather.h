#pragma once
// All-gather with a gradient, for losses over the GLOBAL batch (SupCon, spec §7).
#include <torch/torch.h>

#include "comm/communicator.h"

namespace hesp::losses {

// [b, E] on this rank -> [B, E], the rows of every rank in rank order (all_gather_v, so b
// may differ between ranks). Backward: the incoming [B, E] gradient is all-reduced (summed)
// and this rank's rows are returned.
// Why the sum: every rank computes the same global loss from the gathered tensor, so each
// holds the full dL/dZ; summing gives N * dL/dZ and the parameter gradients, AVERAGED over
// the N ranks afterwards, equal those of one rank that saw the whole batch.
// Every rank must call this (and run the backward) in the same order. `comm` must outlive
// the backward pass.
torch::Tensor gather_with_grad(const torch::Tensor& local, comm::Communicator& comm);

}  // namespace hesp::losses
