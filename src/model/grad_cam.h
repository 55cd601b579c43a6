#pragma once
// Where the visual prompt goes (spec §2): Grad-CAM on the last ViT block of the frozen
// CLIP. A = patch tokens entering the last block (class token dropped) as g x g x W;
// y = zero-shot logit of the top-1 class ("a photo of a {class}."); alpha = mean over the
// g x g positions of dy/dA; cam = ReLU(sum_w alpha_w A_w), bilinearly upsampled to S x S;
// the box centre is the arg-max (first on ties).
#include <torch/torch.h>

#include <map>
#include <string>

#include "clip/model/clip_model.h"

namespace hesp::model {

struct CamResult {
  torch::Tensor maps;     // [N, S, S] upsampled CAMs
  torch::Tensor centers;  // [N, 2] int64 (row, col)
  torch::Tensor top1;     // [N] int64 zero-shot class used for y
};

// images [N, 3, S, S] on [0, 1] pixels (the evaluation view of each clip's first frame);
// text_features [K, E] of the zero-shot prompts (not necessarily normalised).
CamResult grad_cam(const clip::ClipModel& clip, const torch::Tensor& images,
                   const torch::Tensor& text_features);

// The box centre of each CAM [N, S, S] -> [N, 2] int64 (row, col): the arg-max, first on
// ties (row-major); a CAM that is zero everywhere gives the image centre (S/2, S/2).
torch::Tensor cam_centers(const torch::Tensor& maps);

// Box centres by clip id, computed once per clip and cached in the run directory so that
// a resumed run and the evaluation reuse them. File format: one "clip_id<TAB>row<TAB>col"
// line per clip (cam_cache.tsv), written atomically.
class CamCache {
 public:
  bool contains(const std::string& clip_id) const { return centers_.count(clip_id) > 0; }
  std::pair<int64_t, int64_t> at(const std::string& clip_id) const;
  void put(const std::string& clip_id, int64_t row, int64_t col);
  size_t size() const { return centers_.size(); }

  std::string serialize() const;
  // Throws UserError naming `source` and the line on malformed input.
  static CamCache parse(const std::string& text, const std::string& source);
  void save(const std::string& path) const;
  static CamCache load(const std::string& path);

 private:
  std::map<std::string, std::pair<int64_t, int64_t>> centers_;
};

}  // namespace hesp::model
