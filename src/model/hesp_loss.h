#pragma once
// The multi-task loss (spec §7), one weighted, switchable term at a time:
//   L_KN = CE(s, y) + SupCon(F_V / |F_V|, y)              (SupCon over the GLOBAL batch)
//   L_NE = CE(l / T_a, y) + w_pl max(0, |F_V - F_V^-(y)|^2/d - R + 1) + L_negclip
//   L_H  = CE on the combined prediction (combine = logits | probs)
// Which terms exist depends on the method: clip_arpl has CE(l) + margin only; hesp_b1 has
// no margin term; clip_zeroshot does not train.
#include <torch/torch.h>

#include <map>
#include <string>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "model/hesp_model.h"

namespace hesp::model {

struct LossBreakdown {
  torch::Tensor total;                       // differentiable
  std::map<std::string, double> terms;       // each weighted term's value (what enters total)
  std::map<std::string, double> unweighted;  // the same terms before their weights
};

// `labels` [b] are this rank's labels (0..K-1); `comm` carries the SupCon gather.
LossBreakdown hesp_loss(const config::Experiment& exp, const HespModelImpl& model,
                        const Outputs& out, const torch::Tensor& labels, comm::Communicator& comm);

}  // namespace hesp::model
