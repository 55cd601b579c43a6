#include "model/grad_cam.h"

#include <glog/logging.h>

#include <sstream>

#include "model/normalization.h"
#include "util/errors.h"
#include "util/fs.h"

namespace hesp::model {

CamResult grad_cam(const clip::ClipModel& clip, const torch::Tensor& images,
                   const torch::Tensor& text_features) {
  CHECK_EQ(images.dim(), 4) << "images must be [N, 3, S, S]";
  const int64_t N = images.size(0), S = images.size(2);
  const int64_t g = clip.config().grid_size();
  torch::AutoGradMode enable(true);
  auto tokens = clip.visual_tokens_before_last_block(clip_normalize(images)).detach();
  tokens.set_requires_grad(true);
  const auto features = clip.finish_image_from_last_block(tokens);  // [N, E]
  const auto text = text_features.detach();
  const auto logits =
      clip.logit_scale().exp() * torch::matmul(features / features.norm(2, -1, true),
                                               (text / text.norm(2, -1, true)).t());  // [N, K]
  const auto top1 = std::get<1>(logits.detach().max(1));
  // Images are independent, so the gradient of the sum gives each image its own dy/dA.
  const auto y = logits.gather(1, top1.unsqueeze(1)).sum();
  const auto grad = torch::autograd::grad({y}, {tokens})[0];
  const auto A = tokens.detach().narrow(1, 1, g * g);  // patch tokens [N, g*g, W]
  const auto alpha = grad.narrow(1, 1, g * g).mean(1, /*keepdim=*/true);  // [N, 1, W]
  auto cam = torch::relu((A * alpha).sum(-1)).view({N, 1, g, g});
  namespace F = torch::nn::functional;
  cam = F::interpolate(cam, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{S, S})
                                .mode(torch::kBilinear)
                                .align_corners(false))
            .view({N, S, S});
  return {cam, cam_centers(cam), top1};
}

torch::Tensor cam_centers(const torch::Tensor& maps) {
  CHECK_EQ(maps.dim(), 3) << "CAMs must be [N, S, S]";
  const int64_t N = maps.size(0), S = maps.size(1), W = maps.size(2);
  // The first maximal position (row-major: first row, then col). A map's maximum is often a
  // plateau (bilinear upsampling clamps at the border), whose values LibTorch 2.x's
  // vectorised kernels may round a few ulp apart: positions within 1e-5 of the peak count
  // as maximal, so the choice does not depend on that rounding. argmax of the 0/1 mask
  // returns its first 1.
  const auto rows = maps.reshape({N, S * W});
  const auto peak = rows.amax(1);
  const auto flat =
      rows.ge(peak.unsqueeze(1) - 1e-5 * peak.abs().unsqueeze(1)).to(torch::kUInt8).argmax(1);
  auto centers =
      torch::stack({torch::floor_divide(flat, W), flat.remainder(W)}, 1).to(torch::kLong);
  // A CAM that is zero everywhere (ReLU cut every position) points nowhere: the centre.
  const auto empty = peak.le(0).unsqueeze(1).to(centers.device());
  const auto middle = torch::tensor({S / 2, W / 2}, centers.options()).view({1, 2});
  return torch::where(empty, middle, centers);
}

std::pair<int64_t, int64_t> CamCache::at(const std::string& clip_id) const {
  auto it = centers_.find(clip_id);
  CHECK(it != centers_.end()) << "no CAM box cached for clip " << clip_id;
  return it->second;
}

void CamCache::put(const std::string& clip_id, int64_t row, int64_t col) {
  centers_[clip_id] = {row, col};
}

std::string CamCache::serialize() const {
  std::ostringstream s;
  for (const auto& [id, rc] : centers_) s << id << '\t' << rc.first << '\t' << rc.second << '\n';
  return s.str();
}

CamCache CamCache::parse(const std::string& text, const std::string& source) {
  CamCache cache;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    try {
      if (t2 == std::string::npos) throw std::invalid_argument("fields");
      cache.put(line.substr(0, t1), std::stoll(line.substr(t1 + 1, t2 - t1 - 1)),
                std::stoll(line.substr(t2 + 1)));
    } catch (const std::exception&) {
      throw UserError(source + ":" + std::to_string(n) +
                      ": malformed CAM cache line (expected clip_id<TAB>row<TAB>col)");
    }
  }
  return cache;
}

void CamCache::save(const std::string& path) const { fs::atomic_write_file(path, serialize()); }

CamCache CamCache::load(const std::string& path) { return parse(fs::read_file(path), path); }

}  // namespace hesp::model
