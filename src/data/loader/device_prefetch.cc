#include "data/loader/device_prefetch.h"

#include <glog/logging.h>

#include "util/torch_compat.h"

#if defined(HESP_TORCH_CUDA)
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace hesp::data {

#if defined(HESP_TORCH_CUDA)
struct DevicePrefetcher::Cuda {
  explicit Cuda(c10::DeviceIndex device)
      : copy_stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device)) {}
  c10::cuda::CUDAStream copy_stream;
  at::cuda::CUDAEvent copied;  // Recorded on copy_stream after the staged batch's copy.
  bool pending = false;        // `copied` belongs to the staged batch and is not waited yet.
};
#else
struct DevicePrefetcher::Cuda {};
#endif

DevicePrefetcher::DevicePrefetcher(Loader& loader, torch::Device device)
    : loader_(loader), device_(device) {
#if defined(HESP_TORCH_CUDA)
  if (device_.is_cuda()) cuda_ = std::make_unique<Cuda>(device_.index());
#else
  CHECK(!device_.is_cuda()) << "a CUDA device with a LibTorch without CUDA";
#endif
}

DevicePrefetcher::~DevicePrefetcher() { reset(); }

void DevicePrefetcher::reset() {
#if defined(HESP_TORCH_CUDA)
  // The host buffer returns to the loader's pool: no copy may still read it.
  if (cuda_ && cuda_->pending) cuda_->copied.synchronize();
  if (cuda_) cuda_->pending = false;
#endif
  staged_.reset();
}

DeviceBatch DevicePrefetcher::start_copy(Batch host) {
  DeviceBatch out;
#if defined(HESP_TORCH_CUDA)
  if (cuda_) {
    // Phase 1: allocate and copy on the side stream, from pinned memory (asynchronous).
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device_.index());
    {
      const c10::cuda::CUDAStreamGuard on_copy_stream(cuda_->copy_stream);
      out.frames = host.frames.to(device_, /*non_blocking=*/true);
      out.labels = host.labels.to(device_, /*non_blocking=*/true);
    }
    cuda_->copied.record(cuda_->copy_stream);
    cuda_->pending = true;
    // Phase 2: the tensors are used on the compute stream; the caching allocator must not
    // hand their memory to the copy stream again before that work is done.
    c10::cuda::CUDACachingAllocator::recordStream(out.frames.storage().data_ptr(), compute);
    c10::cuda::CUDACachingAllocator::recordStream(out.labels.storage().data_ptr(), compute);
    out.host = std::move(host);
    return out;
  }
#endif
  out.frames = host.frames.to(device_, /*non_blocking=*/true);  // The same tensor on the CPU.
  out.labels = host.labels.to(device_, /*non_blocking=*/true);
  out.host = std::move(host);
  return out;
}

bool DevicePrefetcher::stage() {
  if (staged_) return true;
  if (!loader_.next_ready()) return false;
  auto host = loader_.next();  // Ready: returns at once (or rethrows a worker's error).
  if (!host) return false;     // The epoch is over.
  staged_ = start_copy(std::move(*host));
  return true;
}

std::optional<DeviceBatch> DevicePrefetcher::next() {
  if (!staged_) {
    auto host = loader_.next();  // Blocks until the loader has it: data wait.
    if (!host) return std::nullopt;
    staged_ = start_copy(std::move(*host));
  }
#if defined(HESP_TORCH_CUDA)
  if (cuda_ && cuda_->pending) {
    // The copy was started during the previous step and has normally finished; waiting on
    // the host (not only the stream) frees the pinned buffer for the loader's next batch.
    cuda_->copied.synchronize();
    cuda_->pending = false;
  }
#endif
  std::optional<DeviceBatch> out = std::move(staged_);
  staged_.reset();
  return out;
}

}  // namespace hesp::data
