#include "data/loader/loader.h"

#include <glog/logging.h>

#include "data/format/jpeg_codec.h"
#include "util/errors.h"
#include "util/torch_compat.h"

namespace hesp::data {

Loader::Loader(const Dataset& dataset, const DistributedSampler& sampler,
               const LoaderOptions& options)
    : dataset_(dataset), sampler_(sampler), options_(options) {
  CHECK_EQ(sampler_.options().num_clips, dataset_.size()) << "sampler built for another dataset";
  if (options_.threads < 1) throw ConfigError("data.loader_threads must be >= 1");
  if (options_.prefetch_batches < 1) throw ConfigError("data.prefetch_batches must be >= 1");
  if (options_.transform.frames < 1 || options_.transform.size < 1) {
    throw ConfigError("data.frames_per_clip and data.image_size must be >= 1");
  }
  CHECK(!options_.pin_memory || compat::torch_has_cuda())
      << "pinned batches need a CUDA LibTorch and device";
}

Loader::~Loader() { stop(); }

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Loader::start(SamplerPosition from) {
  stop();
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
  error_ = nullptr;
  epoch_ = from.epoch;
  first_step_ = from.step;
  batches_ = sampler_.batches(from.epoch, from.step);
  tasks_.clear();
  for (size_t b = 0; b < batches_.size(); ++b) {
    for (size_t r = 0; r < batches_[b].size(); ++r) {
      tasks_.emplace_back(static_cast<int64_t>(b), static_cast<int64_t>(r));
    }
  }
  next_task_ = 0;
  consumed_ = 0;
  pending_.clear();
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { work(); });
}

void Loader::work() {
  const int64_t size = options_.transform.size, frames = options_.transform.frames;
  const auto dtype = options_.float_output ? torch::kFloat32 : torch::kUInt8;
  for (;;) {
    torch::Tensor slot;
    int64_t batch = 0, clip = 0, slot_row = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Stay within the prefetch window: batches [consumed_, consumed_ + prefetch).
      work_cv_.wait(lock, [&] {
        return stopping_ || error_ || next_task_ >= tasks_.size() ||
               tasks_[next_task_].first < consumed_ + options_.prefetch_batches;
      });
      if (stopping_ || error_ || next_task_ >= tasks_.size()) return;
      const auto [b, row] = tasks_[next_task_++];
      batch = b;
      const auto& ids = batches_[static_cast<size_t>(b)];
      clip = ids[static_cast<size_t>(row)];
      auto it = pending_.find(b);
      if (it == pending_.end()) {
        // The first worker to reach a batch allocates it and fills the metadata.
        Pending p;
        const int64_t n = static_cast<int64_t>(ids.size());
        p.batch.frames = frames_buffer({n, frames, 3, size, size}, dtype);
        p.batch.labels = torch::empty(
            {n}, torch::TensorOptions().dtype(torch::kInt64).pinned_memory(options_.pin_memory));
        p.batch.clip_indices = torch::empty({n}, torch::kInt64);
        p.batch.views.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          const ClipInfo& c = dataset_.clip(ids[static_cast<size_t>(i)]);
          p.batch.labels[i] = c.label;
          p.batch.clip_indices[i] = c.index;
          p.batch.clip_ids.push_back(c.clip_id);
        }
        p.batch.position = {epoch_, first_step_ + b};
        p.remaining = n;
        it = pending_.emplace(b, std::move(p)).first;
      }
      slot = it->second.batch.frames[row];
      slot_row = row;
    }
    ClipPlan view;
    try {
      view = load_clip(dataset_, clip, epoch_, options_.transform, slot);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      ready_cv_.notify_all();
      work_cv_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Pending& done = pending_.at(batch);
    done.batch.views[static_cast<size_t>(slot_row)] = std::move(view);
    if (--done.remaining == 0) ready_cv_.notify_all();
  }
}

torch::Tensor Loader::frames_buffer(const std::vector<int64_t>& sizes, torch::ScalarType dtype) {
  for (const auto& t : pool_) {
    // Only the pool holds it: no Batch, view or autograd graph refers to it any more, and
    // none can appear (the pool is only read under mutex_).
    if (t.use_count() == 1 && t.storage().use_count() == 1 && t.scalar_type() == dtype &&
        t.sizes() == c10::IntArrayRef(sizes)) {
      return t;
    }
  }
  auto t =
      torch::empty(sizes, torch::TensorOptions().dtype(dtype).pinned_memory(options_.pin_memory));
  // Enough for the prefetch window, the batch in use and one the caller still holds (or
  // has staged: DevicePrefetcher).
  if (pool_.size() < static_cast<size_t>(options_.prefetch_batches) + 2) pool_.push_back(t);
  return t;
}

std::optional<Batch> Loader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  CHECK(!workers_.empty() || consumed_ >= static_cast<int64_t>(batches_.size()))
      << "Loader::next() before start()";
  if (consumed_ >= static_cast<int64_t>(batches_.size()) && !error_) return std::nullopt;
  ready_cv_.wait(lock, [&] {
    auto it = pending_.find(consumed_);
    return error_ || (it != pending_.end() && it->second.remaining == 0);
  });
  if (error_) std::rethrow_exception(error_);
  auto it = pending_.find(consumed_);
  Batch out = std::move(it->second.batch);
  pending_.erase(it);
  ++consumed_;
  lock.unlock();
  work_cv_.notify_all();
  return out;
}

bool Loader::next_ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_ || consumed_ >= static_cast<int64_t>(batches_.size())) return true;
  const auto it = pending_.find(consumed_);
  return it != pending_.end() && it->second.remaining == 0;
}

SamplerPosition Loader::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (consumed_ >= static_cast<int64_t>(batches_.size())) return {epoch_ + 1, 0};
  return {epoch_, first_step_ + consumed_};
}

ClipPlan Loader::load_clip(const Dataset& dataset, int64_t index, int64_t epoch,
                           const TransformOptions& transform, torch::Tensor frames_out) {
  const int size = transform.size;
  CHECK(frames_out.is_contiguous());
  CHECK_EQ(frames_out.numel(), static_cast<int64_t>(transform.frames) * 3 * size * size);
  const bool as_float = frames_out.scalar_type() == torch::kFloat32;
  CHECK(as_float || frames_out.scalar_type() == torch::kUInt8);

  thread_local EncodedClip enc;
  thread_local std::vector<uint8_t> decoded;
  dataset.read(index, &enc);  // The only part under the HDF5 lock.

  const ClipInfo& clip = dataset.clip(index);
  const int s0 = enc.size;
  const size_t frame_bytes = static_cast<size_t>(s0) * s0 * 3;
  const ClipPlan plan = plan_clip(transform, enc.frames, s0, s0, epoch, index);
  const size_t plane = static_cast<size_t>(3) * size * size;
  decoded.resize(frame_bytes);
  int decoded_frame = -1;  // Repeated frames (short clips) decode once.
  for (int k = 0; k < transform.frames; ++k) {
    const int j = plan.frames[k];
    const uint8_t* hwc;
    if (enc.jpeg) {
      if (j != decoded_frame) {
        const uint64_t a = enc.frame_offsets[j], b = enc.frame_offsets[j + 1];
        jpeg::decode_rgb_into(enc.bytes.data() + a, b - a, s0, s0, decoded.data(),
                              "clip " + clip.clip_id + " frame " + std::to_string(j) + " in " +
                                  dataset.shards()[clip.shard].path.string());
        decoded_frame = j;
      }
      hwc = decoded.data();
    } else {
      hwc = enc.bytes.data() + frame_bytes * j;
    }
    if (as_float) {
      render_frame(hwc, s0, s0, plan.box, plan.flip, size,
                   frames_out.data_ptr<float>() + k * plane);
    } else {
      render_frame(hwc, s0, s0, plan.box, plan.flip, size,
                   frames_out.data_ptr<uint8_t>() + k * plane);
    }
  }
  return plan;
}

}  // namespace hesp::data
