#pragma once
// Visual-prompt box centres for every clip of a run (spec §2, `box`):
//   cam_per_video  Grad-CAM on the first frame of each clip's evaluation view, once per
//                  clip; under data parallelism each rank computes a contiguous share and
//                  the shares are all-gathered, so every rank holds every box;
//   cam_once       one box for the whole run, from the first training clip;
//   center         the image centre;
//   random_patch   a random place per clip and epoch while training (KeyedRng keyed by
//                  seed, epoch and clip index: a resumed run draws the same), the image
//                  centre at evaluation;
//   padding        no box (the prompt is the frame border; the centres are ignored).
// The boxes are cached in <run_dir>/cam_cache.tsv (and in checkpoints), so a resumed run
// and the evaluation reuse them instead of recomputing.
#include <filesystem>

#include "comm/communicator.h"
#include "config/experiment.pb.h"
#include "data/loader/clip_transform.h"
#include "data/loader/dataset.h"
#include "data/loader/loader.h"
#include "model/grad_cam.h"
#include "model/hesp_model.h"

namespace hesp::eval {

// Adds the boxes of every clip of `datasets` that the cache lacks. Collective.
void compute_missing_boxes(const config::Experiment& exp, const model::HespModelImpl& model,
                           const std::vector<const data::Dataset*>& datasets,
                           comm::Communicator& comm, model::CamCache* cache);

// [B, 2] int64 centres of a batch's clips (from the cache, or the image centre for
// center, random_patch and padding), in the
// evaluation view. With `views` (a training batch's, one per clip), cam_per_video centres
// are mapped through each clip's crop, scale and flip (spec §2, data::map_eval_point_to_view),
// so that the prompt stays on the same part of the face; the box placement then clamps
// them. cam_once (the reference's one box for all views) and center are not mapped.
torch::Tensor batch_centers(const config::Experiment& exp, const model::CamCache& cache,
                            const std::vector<std::string>& clip_ids,
                            const std::vector<data::ClipPlan>* views = nullptr);

// The same for a training batch: random_patch draws each clip's place for the batch's
// epoch; every other box is placed as at evaluation.
torch::Tensor training_batch_centers(const config::Experiment& exp, const model::CamCache& cache,
                                     const data::Batch& batch);

}  // namespace hesp::eval
