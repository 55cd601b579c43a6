#pragma once
// Batches of decoded, transformed clips, prepared in the background.
//
// Pipeline: N worker threads take the clips of the current epoch in reading order; each
// reads its clip's stored bytes under hdf5_mutex() (one HDF5 read), releases the lock,
// decodes the frames it needs with TurboJPEG and renders the view straight into its row
// of the batch tensor. At most `prefetch_batches` batches are in flight or waiting, so
// memory stays bounded. Batches are handed out in sampler order, and every pixel depends
// only on (seed, epoch, clip index): the output is the same for any thread count or timing.
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/loader/clip_transform.h"
#include "data/loader/dataset.h"
#include "data/loader/sampler.h"

namespace hesp::data {

struct LoaderOptions {
  TransformOptions transform;  // T, S, training/evaluation view, seed.
  int threads = 2;             // data.loader_threads
  int prefetch_batches = 2;    // data.prefetch_batches
  bool float_output = true;    // float in [0, 1]; false = uint8 0..255.
  // Frames and labels in page-locked (pinned) host memory, so that a CUDA device copies
  // them asynchronously (DevicePrefetcher). Only with a CUDA LibTorch (trainer: train.device
  // cuda); the pixels are the same either way.
  bool pin_memory = false;
};

struct Batch {
  torch::Tensor frames;        // [B, T, 3, S, S], float32 or uint8.
  torch::Tensor labels;        // int64 [B], mapped labels (-1 = unknown).
  torch::Tensor clip_indices;  // int64 [B], Dataset indices.
  std::vector<std::string> clip_ids;
  std::vector<ClipPlan> views;  // Per clip, the view rendered (maps CAM box centres, spec §2).
  SamplerPosition position;     // This batch's (epoch, step).
};

class Loader {
 public:
  // `dataset` must outlive the loader.
  Loader(const Dataset& dataset, const DistributedSampler& sampler, const LoaderOptions& options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts reading `from.epoch` at batch `from.step` (a saved position resumes exactly).
  void start(SamplerPosition from);
  // The next batch of the started epoch, or nullopt after its last one. Rethrows a
  // worker's error (e.g. a corrupt JPEG, as a UserError naming the clip and shard).
  std::optional<Batch> next();
  // Whether next() would return at once: the next batch is complete, a worker failed, or
  // the epoch is over. Never blocks.
  bool next_ready() const;
  // Where the next call of next() reads: save it in checkpoints.
  SamplerPosition position() const;

  // Decodes and renders one clip into frames_out ([T, 3, S, S], contiguous, dtype per
  // options) exactly as the batches do; for tests and tools. Returns the view's plan.
  static ClipPlan load_clip(const Dataset& dataset, int64_t index, int64_t epoch,
                            const TransformOptions& transform, torch::Tensor frames_out);

 private:
  struct Pending {
    Batch batch;
    int64_t remaining = 0;
  };
  void stop();
  void work();
  // A frames tensor for a new batch (under mutex_): a pooled one that nobody else
  // references any more, else a new one. Reuse matters: a fresh 10 MB batch costs ~2,400
  // page faults (zeroed pages) on first touch, a quarter of the decode time it holds.
  torch::Tensor frames_buffer(const std::vector<int64_t>& sizes, torch::ScalarType dtype);

  const Dataset& dataset_;
  DistributedSampler sampler_;
  LoaderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  int64_t epoch_ = 0, first_step_ = 0;
  std::vector<std::vector<int64_t>> batches_;       // This epoch's, from first_step_ on.
  std::vector<std::pair<int64_t, int64_t>> tasks_;  // (batch, row) in reading order.
  size_t next_task_ = 0;
  int64_t consumed_ = 0;  // Batches handed out.
  std::map<int64_t, Pending> pending_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::vector<torch::Tensor> pool_;  // Frames buffers handed out before (see frames_buffer).
};

}  // namespace hesp::data
