#pragma once
// Batches on the training device, copied one step ahead.
//
// The loader's workers prepare batches in the background (Loader). This class moves them
// to the device: while step n runs, stage() takes batch n+1 if the loader has finished it
// and starts its copy; next() then hands it over at the start of step n+1. On CUDA the
// loader's buffers are pinned (LoaderOptions::pin_memory) and the copy is a non-blocking
// copy on a side stream of the device, so it overlaps step n's kernels; next() waits for
// that copy's event only. On the CPU the "copy" is the identity (Tensor::to(kCPU) returns
// the same tensor) and the same staging logic runs, so CPU tests exercise it.
//
// The time next() blocks is the time the device would wait for data (the trainer logs it
// as data_wait_fraction): the loader had not finished the batch, or its copy was still
// running. stage() never waits for the loader.
#include <torch/torch.h>

#include <memory>
#include <optional>

#include "data/loader/loader.h"

namespace hesp::data {

struct DeviceBatch {
  Batch host;            // As the loader made it (its clip ids, views, position, CPU tensors).
  torch::Tensor frames;  // host.frames on the device ([B, T, 3, S, S]).
  torch::Tensor labels;  // host.labels on the device (int64 [B]).
};

class DevicePrefetcher {
 public:
  // `loader` must outlive this object. `device`: the training device (kCPU or kCUDA:i).
  DevicePrefetcher(Loader& loader, torch::Device device);
  ~DevicePrefetcher();
  DevicePrefetcher(const DevicePrefetcher&) = delete;
  DevicePrefetcher& operator=(const DevicePrefetcher&) = delete;

  // Drops a staged batch; call after Loader::start() (a new epoch or a resume).
  void reset();
  // The next batch on the device, usable by work queued on the device's current stream;
  // nullopt after the epoch's last batch. Blocks until the loader has made it and its copy
  // has finished. Rethrows the loader's errors (Loader::next()).
  std::optional<DeviceBatch> next();
  // If the loader has the next batch ready, takes it and starts its copy to the device;
  // returns whether a batch is staged now. Never blocks on the loader; at most one batch
  // is staged (a second call while one is staged does nothing and returns true).
  bool stage();
  bool staged() const { return staged_.has_value(); }

 private:
  DeviceBatch start_copy(Batch host);

  Loader& loader_;
  const torch::Device device_;
  std::optional<DeviceBatch> staged_;
  struct Cuda;  // The copy stream and the staged copy's event (CUDA builds).
  std::unique_ptr<Cuda> cuda_;
};

}  // namespace hesp::data
