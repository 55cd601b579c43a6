#include "eval/cam_boxes.h"

#include <glog/logging.h>

#include "data/loader/loader.h"
#include "data/loader/rng.h"

namespace hesp::eval {
namespace {

// The key under which cam_once stores its single box.
constexpr const char* kRunBoxKey = "__run__";

// First frame of the evaluation view of one clip [3, S, S] on [0, 1].
torch::Tensor first_eval_frame(const config::Experiment& exp, const data::Dataset& ds,
                               int64_t index) {
  data::TransformOptions t;
  t.frames = exp.data().frames_per_clip();
  t.size = exp.data().image_size();
  t.training = false;
  t.seed = exp.train().seed();
  auto frames = torch::empty({t.frames, 3, t.size, t.size});
  data::Loader::load_clip(ds, index, /*epoch=*/0, t, frames);
  return frames[0];
}

}  // namespace

void compute_missing_boxes(const config::Experiment& exp, const model::HespModelImpl& model,
                           const std::vector<const data::Dataset*>& datasets,
                           comm::Communicator& comm, model::CamCache* cache) {
  const auto box = exp.prompts().visual().box();
  if (!model.uses_visual_prompt() || box == config::VisualPromptConfig::center ||
      box == config::VisualPromptConfig::random_patch ||
      box == config::VisualPromptConfig::padding) {
    return;
  }
  // The clips without a box, in a deterministic order identical on every rank.
  std::vector<std::pair<const data::Dataset*, int64_t>> todo;
  std::vector<std::string> ids;
  if (box == config::VisualPromptConfig::cam_once) {
    if (!cache->contains(kRunBoxKey)) {
      todo.emplace_back(datasets.front(), 0);
      ids.push_back(kRunBoxKey);
    }
  } else {
    for (const auto* ds : datasets) {
      for (const auto& clip : ds->clips()) {
        if (cache->contains(clip.clip_id)) continue;
        if (std::find(ids.begin(), ids.end(), clip.clip_id) != ids.end()) continue;
        todo.emplace_back(ds, clip.index);
        ids.push_back(clip.clip_id);
      }
    }
  }
  if (todo.empty()) return;
  const int64_t n = static_cast<int64_t>(todo.size());
  const int64_t begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  LOG(INFO) << "Grad-CAM boxes for " << n << " clip(s); this rank computes " << end - begin;
  const int64_t chunk = 16;
  std::vector<torch::Tensor> mine;
  for (int64_t i = begin; i < end; i += chunk) {
    std::vector<torch::Tensor> images;
    for (int64_t j = i; j < std::min(end, i + chunk); ++j) {
      images.push_back(first_eval_frame(exp, *todo[j].first, todo[j].second));
    }
    const auto cam = model::grad_cam(model.clip(), torch::stack(images).to(model.device()),
                                     model.cam_text_features());
    mine.push_back(cam.centers.to(torch::kCPU));
  }
  const auto local = mine.empty() ? torch::empty({0, 2}, torch::kLong) : torch::cat(mine);
  const auto all = comm.all_gather_v(local.contiguous());  // Rank order = todo order.
  CHECK_EQ(all.size(0), n);
  for (int64_t i = 0; i < n; ++i) {
    cache->put(ids[static_cast<size_t>(i)], all[i][0].item<int64_t>(), all[i][1].item<int64_t>());
  }
}

torch::Tensor batch_centers(const config::Experiment& exp, const model::CamCache& cache,
                            const std::vector<std::string>& clip_ids,
                            const std::vector<data::ClipPlan>* views) {
  const int64_t B = static_cast<int64_t>(clip_ids.size());
  CHECK(views == nullptr || views->size() == clip_ids.size()) << "one view per clip";
  auto out = torch::empty({B, 2}, torch::kLong);
  const int64_t S = exp.data().image_size();
  const auto box = exp.prompts().visual().box();
  for (int64_t b = 0; b < B; ++b) {
    std::pair<int64_t, int64_t> c{S / 2, S / 2};
    if (box == config::VisualPromptConfig::cam_once) c = cache.at(kRunBoxKey);
    if (box == config::VisualPromptConfig::cam_per_video) {
      c = cache.at(clip_ids[static_cast<size_t>(b)]);
      if (views != nullptr) {
        c = data::map_eval_point_to_view(c.first, c.second, (*views)[static_cast<size_t>(b)],
                                         static_cast<int>(S));
      }
    }
    out[b][0] = c.first;
    out[b][1] = c.second;
  }
  return out;
}

}  // namespace hesp::eval

namespace hesp::eval {

torch::Tensor training_batch_centers(const config::Experiment& exp, const model::CamCache& cache,
                                     const data::Batch& batch) {
  if (exp.prompts().visual().box() != config::VisualPromptConfig::random_patch) {
    return batch_centers(exp, cache, batch.clip_ids, &batch.views);
  }
  // The centre range box_top_left keeps: every draw is a box inside the image.
  const int64_t S = exp.data().image_size(), s = exp.prompts().visual().size();
  const int64_t lo = s / 2, hi = std::max(lo, S - 1 - s / 2);
  const int64_t B = batch.clip_indices.size(0);
  auto out = torch::empty({B, 2}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    data::KeyedRng rng(exp.train().seed(), static_cast<uint64_t>(batch.position.epoch),
                       data::RngStream::kVisualPromptBox,
                       static_cast<uint64_t>(batch.clip_indices[b].item<int64_t>()));
    out[b][0] = rng.randint(lo, hi + 1);
    out[b][1] = rng.randint(lo, hi + 1);
  }
  return out;
}

}  // namespace hesp::eval
