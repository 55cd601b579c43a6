#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <glog/logging.h>
#include <nccl.h>

#include <chrono>
#include <thread>

#include "util/errors.h"
#include "util/torch_compat.h"

namespace hesp::comm {
namespace {

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw UserError(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
  }
}

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    case torch::kByte:
      return ncclUint8;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kHalf:
      return ncclFloat16;
    default:
      LOG(FATAL) << "NCCL communicator: unsupported dtype " << t.scalar_type();
  }
  return ncclFloat32;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
  }
  return ncclSum;
}

void check_cuda_tensor(const torch::Tensor& t, const char* what) {
  CHECK(t.device().is_cuda()) << what << ": the NCCL communicator takes CUDA tensors";
  CHECK(t.is_contiguous()) << what << ": tensor must be contiguous";
}

}  // namespace

bool cuda_device_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct NcclCommunicator::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t done = nullptr;
  cudaEvent_t ready = nullptr;
  bool aborted = false;
};

NcclCommunicator::NcclCommunicator(std::shared_ptr<Communicator> bootstrap, int device,
                                   double timeout_s)
    : bootstrap_(std::move(bootstrap)),
      state_(std::make_unique<State>()),
      device_(device),
      timeout_s_(timeout_s) {
  int devices = 0;
  check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  if (devices == 0) throw UserError("NCCL communicator: no CUDA device is visible");
  if (device_ < 0 || device_ >= devices) {
    throw UserError("NCCL communicator: CUDA device " + std::to_string(device_) +
                    " is not one of the " + std::to_string(devices) + " visible");
  }
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  ncclUniqueId id;
  std::string id_bytes(sizeof(id), '\0');
  if (bootstrap_->rank() == 0) {
    if (ncclGetUniqueId(&id) != ncclSuccess) throw UserError("ncclGetUniqueId failed");
    std::memcpy(id_bytes.data(), &id, sizeof(id));
  }
  bootstrap_->broadcast_bytes(id_bytes, 0);
  std::memcpy(&id, id_bytes.data(), sizeof(id));
  const ncclResult_t r = ncclCommInitRank(&state_->comm, size(), id, rank());
  if (r != ncclSuccess) {
    throw UserError(std::string("ncclCommInitRank failed: ") + ncclGetErrorString(r));
  }
  check_cuda(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "stream");
  check_cuda(cudaEventCreateWithFlags(&state_->done, cudaEventDisableTiming), "event");
  check_cuda(cudaEventCreateWithFlags(&state_->ready, cudaEventDisableTiming), "event");
}

NcclCommunicator::~NcclCommunicator() {
  if (state_->comm != nullptr && !state_->aborted) ncclCommDestroy(state_->comm);
  if (state_->done != nullptr) cudaEventDestroy(state_->done);
  if (state_->ready != nullptr) cudaEventDestroy(state_->ready);
  if (state_->stream != nullptr) cudaStreamDestroy(state_->stream);
}

void NcclCommunicator::set_timeouts(const CollectiveTimeouts& timeouts) {
  bootstrap_->set_timeouts(timeouts);
  timeout_s_ = timeouts.nccl_timeout_s;
}

// The watchdog: poll the completion event and NCCL's asynchronous error; on timeout
// (timeout_s_ > 0) or error abort the communicator (unblocking the kernels) and throw.
void NcclCommunicator::wait_for_event(void* event, const char* what) {
  const auto done = static_cast<cudaEvent_t>(event);
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    if (state_->aborted) throw UserError("NCCL communicator was aborted earlier");
    const cudaError_t q = cudaEventQuery(done);
    if (q == cudaSuccess) return;
    if (q != cudaErrorNotReady) check_cuda(q, what);
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(state_->comm, &async);
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (async != ncclSuccess || (timeout_s_ > 0 && waited > timeout_s_)) {
      ncclCommAbort(state_->comm);
      state_->aborted = true;
      throw UserError(std::string("NCCL ") + what + " on rank " + std::to_string(rank()) +
                      (async != ncclSuccess
                           ? std::string(" failed: ") + ncclGetErrorString(async)
                           : " timed out after " + std::to_string(timeout_s_) + " s") +
                      "; communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void NcclCommunicator::wait_for_completion(const char* what) {
  if (state_->aborted) throw UserError("NCCL communicator was aborted earlier");
  check_cuda(cudaEventRecord(state_->done, state_->stream), "cudaEventRecord");
  wait_for_event(state_->done, what);
}

// Our stream waits for the work torch has queued on its current stream (the producer of
// the tensors we are about to read).
#define HESP_AFTER_PRODUCER()                                                        \
  do {                                                                               \
    auto producer_ = static_cast<cudaStream_t>(compat::current_cuda_stream());       \
    check_cuda(cudaEventRecord(state_->ready, producer_), "cudaEventRecord");        \
    check_cuda(cudaStreamWaitEvent(state_->stream, state_->ready, 0), "wait event"); \
  } while (0)

#define HESP_NCCL(call, what)                                                         \
  do {                                                                                \
    const ncclResult_t r_ = (call);                                                   \
    if (r_ != ncclSuccess)                                                            \
      throw UserError(std::string("NCCL ") + (what) + ": " + ncclGetErrorString(r_)); \
  } while (0)

void NcclCommunicator::barrier() {
  auto t =
      torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(torch::kCUDA, device_));
  all_reduce(t, ReduceOp::kSum);
}

// Host tensors (scalars, decisions, CPU-side metadata such as CAM centres) go over the
// bootstrap communicator, so one communicator serves the whole trainer on GPUs.
void NcclCommunicator::broadcast(torch::Tensor& t, int root) {
  if (!t.is_cuda()) return bootstrap_->broadcast(t, root);
  check_cuda_tensor(t, "broadcast");
  HESP_AFTER_PRODUCER();
  HESP_NCCL(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t),
                          root, state_->comm, state_->stream),
            "broadcast");
  wait_for_completion("broadcast");
}

void NcclCommunicator::broadcast_bytes(std::string& s, int root) {
  bootstrap_->broadcast_bytes(s, root);
}

// An all-reduce queued on the communicator's stream, with its own completion event; wait()
// runs the watchdog on that event. Holds the tensor so that its memory outlives the kernel.
class NcclPendingAllReduce final : public PendingCollective {
 public:
  NcclPendingAllReduce(NcclCommunicator* comm, torch::Tensor t, cudaEvent_t done)
      : comm_(comm), tensor_(std::move(t)), done_(done) {}
  ~NcclPendingAllReduce() override {
    try {
      wait();
    } catch (const std::exception& e) {
      LOG(ERROR) << "unfinished NCCL all_reduce dropped: " << e.what();
    }
    if (done_ != nullptr) cudaEventDestroy(done_);
  }
  bool test() override { return finished_ || cudaEventQuery(done_) == cudaSuccess; }
  void wait() override {
    if (finished_) return;
    finished_ = true;  // Also when the watchdog throws: the communicator is aborted then.
    comm_->wait_for_event(done_, "all_reduce");
  }

 private:
  NcclCommunicator* comm_;
  torch::Tensor tensor_;
  cudaEvent_t done_;
  bool finished_ = false;
};

std::unique_ptr<PendingCollective> NcclCommunicator::all_reduce_async(torch::Tensor t,
                                                                      ReduceOp op) {
  if (!t.is_cuda()) return bootstrap_->all_reduce_async(std::move(t), op);
  check_cuda_tensor(t, "all_reduce");
  if (state_->aborted) throw UserError("NCCL communicator was aborted earlier");
  HESP_AFTER_PRODUCER();
  HESP_NCCL(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), nccl_type(t),
                          nccl_op(op), state_->comm, state_->stream),
            "all_reduce");
  cudaEvent_t done = nullptr;
  check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "event");
  check_cuda(cudaEventRecord(done, state_->stream), "cudaEventRecord");
  return std::make_unique<NcclPendingAllReduce>(this, std::move(t), done);
}

void NcclCommunicator::all_reduce(torch::Tensor& t, ReduceOp op) {
  all_reduce_async(t, op)->wait();
}

torch::Tensor NcclCommunicator::all_gather(const torch::Tensor& t) {
  if (!t.is_cuda()) return bootstrap_->all_gather(t);
  check_cuda_tensor(t, "all_gather");
  auto sizes = t.sizes().vec();
  sizes[0] *= size();
  auto out = torch::empty(sizes, t.options());
  HESP_AFTER_PRODUCER();
  HESP_NCCL(ncclAllGather(t.data_ptr(), out.data_ptr(), static_cast<size_t>(t.numel()),
                          nccl_type(t), state_->comm, state_->stream),
            "all_gather");
  wait_for_completion("all_gather");
  return out;
}

torch::Tensor NcclCommunicator::all_gather_v(const torch::Tensor& t) {
  if (!t.is_cuda()) return bootstrap_->all_gather_v(t);
  check_cuda_tensor(t, "all_gather_v");
  // Exchange the row counts on the host, pad every part to the longest, gather, slice.
  auto counts = bootstrap_->all_gather(torch::tensor({t.size(0)}, torch::kLong));
  const int64_t longest = counts.max().item<int64_t>();
  auto padded_sizes = t.sizes().vec();
  padded_sizes[0] = longest;
  auto padded = torch::zeros(padded_sizes, t.options());
  padded.narrow(0, 0, t.size(0)).copy_(t);
  auto gathered = all_gather(padded);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size(); ++r) {
    parts.push_back(gathered.narrow(0, r * longest, counts[r].item<int64_t>()));
  }
  return torch::cat(parts, 0);
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  std::shared_ptr<Communicator> sub = bootstrap_->split(color, key);
  return std::make_unique<NcclCommunicator>(sub, device_, timeout_s_);
}

}  // namespace hesp::comm
