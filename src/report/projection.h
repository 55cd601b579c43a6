#pragma once
// 2-D projections of feature vectors for the paper's Fig. 6 (test features by class).
#include <torch/torch.h>

namespace hesp::report {

// PCA by LibTorch's SVD: the rows of x [N, E] centred and projected onto the first two
// right singular vectors -> [N, 2] float64. Each axis' sign is fixed so that its largest
// absolute coordinate is positive (SVD signs are arbitrary). Fewer than two components
// (N < 2 or E < 2) leave the missing axis at 0.
torch::Tensor pca_2d(const torch::Tensor& x);

}  // namespace hesp::report
