#pragma once
// NCCL backend for CUDA tensors. The unique id travels by MPI broadcast over the
// bootstrap communicator, which also carries the byte broadcasts and the size exchange of
// all_gather_v. A watchdog bounds every collective: when one does not complete within
// distributed.nccl_timeout_s (0 = never), or NCCL reports an asynchronous error, the communicator
// is aborted (ncclCommAbort) and a UserError is thrown, so a dead peer never hangs the job. Host
// (CPU) tensors are passed to the bootstrap communicator, so one communicator serves both the
// gradients on the GPU and the scalars and metadata on the host.
#include <memory>

#include "comm/communicator.h"
#include "comm/mpi_communicator.h"

namespace hesp::comm {

// True when the CUDA runtime sees at least one device.
bool cuda_device_available();

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `bootstrap`; runs on CUDA device `device` (made by
  // comm::make_communicator, communicator_factory.h, for the device placement chose).
  // timeout_s: the watchdog's limit per collective (distributed.nccl_timeout_s); 0 = never.
  NcclCommunicator(std::shared_ptr<Communicator> bootstrap, int device, double timeout_s);
  ~NcclCommunicator() override;

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  int local_rank() const override { return bootstrap_->local_rank(); }
  int local_size() const override { return bootstrap_->local_size(); }
  Backend backend() const override { return Backend::kNccl; }
  int device() const { return device_; }

  void barrier() override;
  void broadcast(torch::Tensor& t, int root) override;
  void broadcast_bytes(std::string& s, int root) override;
  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  // Queued on the communicator's stream after the producer's work; wait() runs the watchdog.
  std::unique_ptr<PendingCollective> all_reduce_async(torch::Tensor t, ReduceOp op) override;
  torch::Tensor all_gather(const torch::Tensor& t) override;
  torch::Tensor all_gather_v(const torch::Tensor& t) override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  // The stall timeouts go to the bootstrap (host collectives), nccl_timeout_s to the
  // watchdog.
  void set_timeouts(const CollectiveTimeouts& timeouts) override;

 private:
  friend class NcclPendingAllReduce;
  struct State;
  // Records completion on the communicator's stream and waits with the watchdog.
  void wait_for_completion(const char* what);
  // Waits for a cudaEvent_t (void* keeps CUDA out of this header) with the watchdog.
  void wait_for_event(void* event, const char* what);
  std::shared_ptr<Communicator> bootstrap_;
  std::unique_ptr<State> state_;
  int device_ = 0;
  double timeout_s_;
};

}  // namespace hesp::comm
