#pragma once
// The ONLY place where LibTorch version differences are handled. Debian ships LibTorch
// 1.13 (CPU); clusters use the official LibTorch 2.x (CUDA). Everything else includes
// this header instead of testing TORCH_VERSION_* itself.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#define HESP_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||       \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#if defined(HESP_TORCH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace hesp::compat {

// Autocast toggles moved from at::autocast::set_enabled(bool) (1.x) to per-device
// functions in 2.x.
inline void set_cpu_autocast(bool enabled) {
#if HESP_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(at::kCPU, enabled);
#else
  at::autocast::set_cpu_enabled(enabled);
#endif
}

inline void set_cuda_autocast(bool enabled) {
#if HESP_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_enabled(enabled);
#endif
}

// bf16 autocast on CUDA for one scope (forward and loss); a no-op when `enabled` is
// false. Matmuls and convolutions run in bf16, reductions and LayerNorm stay fp32 (the
// towers compute LayerNorm in fp32 explicitly). The dtype setter was renamed in 2.4.
class CudaBf16Autocast {
 public:
  explicit CudaBf16Autocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
#if HESP_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
    set_cuda_autocast(true);
  }
  ~CudaBf16Autocast() {
    if (!enabled_) return;
    set_cuda_autocast(false);
    at::autocast::clear_cache();
  }
  CudaBf16Autocast(const CudaBf16Autocast&) = delete;
  CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

 private:
  const bool enabled_;
};

// The autocast settings of this thread (CPU and CUDA: enabled, lower-precision dtype).
// Activation checkpointing recomputes a forward during backward, where the forward's
// autocast scope has ended; it captures the state here and re-enters it.
struct AutocastState {
  bool cpu_enabled = false, cuda_enabled = false;
  at::ScalarType cpu_dtype = at::kBFloat16, cuda_dtype = at::kHalf;
};

inline AutocastState autocast_state() {
  AutocastState s;
#if HESP_TORCH_AT_LEAST(2, 4)
  s.cpu_enabled = at::autocast::is_autocast_enabled(at::kCPU);
  s.cuda_enabled = at::autocast::is_autocast_enabled(at::kCUDA);
  s.cpu_dtype = at::autocast::get_autocast_dtype(at::kCPU);
  s.cuda_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
#else
  s.cpu_enabled = at::autocast::is_cpu_enabled();
  s.cuda_enabled = at::autocast::is_enabled();
  s.cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  s.cuda_dtype = at::autocast::get_autocast_gpu_dtype();
#endif
  return s;
}

inline void set_autocast_state(const AutocastState& s) {
#if HESP_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(at::kCPU, s.cpu_dtype);
  at::autocast::set_autocast_dtype(at::kCUDA, s.cuda_dtype);
#else
  at::autocast::set_autocast_cpu_dtype(s.cpu_dtype);
  at::autocast::set_autocast_gpu_dtype(s.cuda_dtype);
#endif
  set_cpu_autocast(s.cpu_enabled);
  set_cuda_autocast(s.cuda_enabled);
}

// Enters `state` for one scope and restores the thread's previous settings after it.
class AutocastScope {
 public:
  explicit AutocastScope(const AutocastState& state) : previous_(autocast_state()) {
    set_autocast_state(state);
  }
  ~AutocastScope() { set_autocast_state(previous_); }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  const AutocastState previous_;
};

// The random generator state as a byte tensor; the API is the same in 1.13 and 2.x, but
// keep the call here so that a future difference has one place to go.
inline torch::Tensor cpu_generator_state(const at::Generator& gen) { return gen.get_state(); }
inline void set_cpu_generator_state(at::Generator& gen, const torch::Tensor& state) {
  gen.set_state(state);
}

inline bool torch_has_cuda() {
#if defined(HESP_TORCH_CUDA)
  return torch::cuda::is_available();
#else
  return false;
#endif
}

// CUDA devices this process can use through torch (0 with a CPU-only LibTorch).
inline int cuda_device_count() {
#if defined(HESP_TORCH_CUDA)
  return static_cast<int>(torch::cuda::device_count());
#else
  return 0;
#endif
}

// The CUDA stream torch queues work on (as an opaque cudaStream_t); nullptr = the legacy
// default stream, which is what a CPU-only LibTorch build leaves us with.
inline void* current_cuda_stream() {
#if defined(HESP_TORCH_CUDA)
  return static_cast<void*>(at::cuda::getCurrentCUDAStream().stream());
#else
  return nullptr;
#endif
}

// Waits for the work queued on the current CUDA device (no-op without CUDA); for timing.
inline void cuda_synchronize() {
#if defined(HESP_TORCH_CUDA)
  if (torch::cuda::is_available()) torch::cuda::synchronize();
#endif
}

// Peak bytes held in tensors by torch's CUDA caching allocator on `device` since the last
// reset (0 without CUDA). The allocator's stats type moved namespaces in 2.x; the field
// names stayed.
inline int64_t cuda_peak_allocated_bytes(int device) {
#if defined(HESP_TORCH_CUDA)
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
  return stats.allocated_bytes[0].peak;  // [0]: all pools (StatType::AGGREGATE)
#else
  (void)device;
  return 0;
#endif
}

inline void reset_cuda_peak(int device) {
#if defined(HESP_TORCH_CUDA)
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
#else
  (void)device;
#endif
}

}  // namespace hesp::compat
