#pragma once
// A finished run applied to new clips (`hesp predict`, docs/predict.md): the run's config
// (T, S, method, prompts) from <run>/config.pbtxt, its learnable tensors from its final
// checkpoint (or a chosen one), CLIP from model.clip_weights (or an override), and the
// unknown threshold t that training stored in <run>/result.json (spec §9: the 5th
// percentile of the training clips' scores after the last epoch).
//
// A clip is predicted exactly as the evaluation predicts it (train/evaluator.cc): the
// evaluation view ([T, 3, S, S] on [0, 1]: the middle stored frame of each of T segments,
// the whole frame resized to S), the visual-prompt box from Grad-CAM on its first frame
// (cam_per_video, computed on the fly), the run's box (cam_once) or the image centre
// (center, random_patch; padding has no box), one forward pass, the combined logits (s + l) / 2 (or
// log P_H for msp), the arg-max as class and the max-logit / MSP as score; below t the clip is
// `unknown`.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clip/model/clip_model.h"
#include "config/experiment.pb.h"
#include "data/format/manifest.pb.h"
#include "model/grad_cam.h"
#include "model/hesp_model.h"

namespace hesp::eval {

struct PredictorOptions {
  std::filesystem::path run_dir;
  std::filesystem::path checkpoint;  // Empty: the run's final checkpoint.
  std::string weights;               // Empty: the run's model.clip_weights.
  // Use CLIP weights whose sha256 differs from those the run trained with (recorded in
  // result.json); without it they are refused, naming both.
  bool force_weights = false;
  // "cpu", "cuda" or empty (the run's train.device). CUDA uses device
  // local_rank mod the visible devices.
  std::string device;
  int local_rank = 0;
};

// The prediction for one clip.
struct ClipPrediction {
  int64_t class_index = 0;            // Arg-max of the combined logits (0..K-1).
  bool unknown = false;               // score < threshold.
  double score = 0;                   // max-logit or MSP (eval.score; MSP for clip_zeroshot).
  std::vector<double> probabilities;  // P_H over the K known classes (sums to 1).
  // The visual prompt's box in S x S input pixels (top, left, side); side 0 without one
  // (no visual prompt, or the padding prompt, whose border width is padding_width).
  int64_t box_top = 0, box_left = 0, box_size = 0;
  int64_t padding_width = 0;
};

class Predictor {
 public:
  // Throws UserError naming the run (no config.pbtxt, no result.json i.e. training not
  // finished, no finished checkpoint, a checkpoint of another config) or the weights
  // (unreadable, another resolution or width than the run's tensors, other bytes than the
  // run trained with unless force_weights).
  explicit Predictor(const PredictorOptions& options);
  ~Predictor();

  const config::Experiment& experiment() const { return exp_; }
  const std::vector<std::string>& known_classes() const { return known_; }
  double threshold() const { return threshold_; }
  // The checkpoint the tensors came from (empty for clip_zeroshot, which has none).
  const std::filesystem::path& checkpoint() const { return checkpoint_; }
  // How the run's clips were stored (the first manifest's pack parameters): new videos
  // and frame folders are decoded, sampled and resized the same way.
  const data::PackParams& pack_params() const { return pack_params_; }

  // The model with the run's tensors (for the evaluation path in benchmarks and tests).
  const model::HespModelImpl& model() const { return **model_; }

  // frames [B, T, 3, S, S] float on [0, 1] (evaluation views) -> B predictions.
  std::vector<ClipPrediction> predict(const torch::Tensor& frames) const;

 private:
  config::Experiment exp_;
  std::vector<std::string> known_;
  double threshold_ = 0;
  std::filesystem::path checkpoint_;
  data::PackParams pack_params_;
  std::shared_ptr<clip::ClipModel> clip_;
  std::unique_ptr<model::HespModel> model_;
  model::CamCache cache_;  // The run's boxes (cam_once uses its single box).
};

// The evaluation view of a clip whose T_stored frames are raw HWC RGB, `size` x `size`
// each, back to back (what `hesp-pack` stores, before encoding): [T, 3, S, S] float.
torch::Tensor evaluation_view(const std::vector<uint8_t>& rgb, int stored_frames, int size,
                              int frames, int image_size);

}  // namespace hesp::eval
