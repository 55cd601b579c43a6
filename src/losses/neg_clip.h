#pragma once
// L_negclip (spec §7): ties each negative visual prompt to its negative text prompt.
#include <torch/torch.h>

namespace hesp::losses {

// image_features, text_features: [K, E] (not normalised). With logits
// scale * cos(image_i, text_j), the loss is the cross-entropy of row i against target i.
// `symmetric` ADDS the cross-entropy of the transposed logits (column j against target
// j): the spec says the option "adds the transposed term", so the default loss is the
// same term whether or not symmetric is on, and symmetric sums the two (not the CLIP
// average). `scale` is the frozen CLIP's exp(logit_scale).
torch::Tensor neg_clip_loss(const torch::Tensor& image_features, const torch::Tensor& text_features,
                            double scale, bool symmetric);

}  // namespace hesp::losses
