#pragma once
// The communicator: a thin API over collectives with build-time backends (comm/backend.h).
//   SingleCommunicator  one process, same semantics; every code path runs in unit tests.
//   MpiCommunicator     CPU tensors over MPI (comm/mpi_communicator.h).
//   NcclCommunicator    CUDA tensors over NCCL, bootstrapped by MPI (comm/nccl_communicator.h).
// This header knows no backend but the single one: communicators are made by
// comm/communicator_factory.h (the world, and NCCL for a CUDA device).
// Collectives must be called by every rank of the communicator in the same order. All are
// blocking except all_reduce_async, which returns a handle to complete later. Tensors must
// be contiguous; in-place operations modify their argument.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "comm/backend.h"
#include "comm/stall_inspector.h"

namespace hesp::comm {

enum class ReduceOp { kSum, kMax, kMin };

// A collective in flight (Communicator::all_reduce_async). test() advances it without
// blocking (MPI only progresses non-blocking collectives inside MPI calls) and says whether
// it has completed; wait() completes it, with the backend's stall inspection or watchdog.
// Destroying an unfinished one waits for it: a request is never abandoned.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank and count among the ranks of this communicator that share a node.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual Backend backend() const = 0;

  virtual void barrier() = 0;
  // In place: `t` must have the same shape and dtype on every rank.
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  // `s` is resized on the receivers.
  virtual void broadcast_bytes(std::string& s, int root) = 0;
  // In place, for float, double, int32 and int64 tensors.
  virtual void all_reduce(torch::Tensor& t, ReduceOp op) = 0;
  // Starts an in-place all-reduce of `t` and returns while it runs, where the backend can
  // (MPI: MPI_Iallreduce; NCCL: queued on the communicator's stream). `t` must not be read
  // or written until wait() returns. The default completes it before returning.
  virtual std::unique_ptr<PendingCollective> all_reduce_async(torch::Tensor t, ReduceOp op);
  // Concatenation along dim 0 in rank order. Equal shapes on every rank.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  // Like all_gather, but dim 0 may differ between ranks (other dims must agree).
  virtual torch::Tensor all_gather_v(const torch::Tensor& t) = 0;
  // Ranks with the same color form a new communicator, ordered by (key, rank).
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;

  // How long collectives may wait (stall_inspector.h; 0 = never): MPI warns after
  // stall_warning_s naming the ranks that have not reached the collective and aborts the
  // job after stall_abort_s; NCCL aborts its communicator after nccl_timeout_s. Backends
  // without a notion of stalls ignore this.
  virtual void set_timeouts(const CollectiveTimeouts& /*timeouts*/) {}

  // Convenience wrappers built on the primitives above.
  void all_reduce_mean(torch::Tensor& t);
  std::string broadcast_string(const std::string& s, int root);
  int64_t all_reduce_int(int64_t v, ReduceOp op);
  double all_reduce_double(double v, ReduceOp op);
  bool is_root() const { return rank() == 0; }
};

class SingleCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  Backend backend() const override { return Backend::kSingle; }
  void barrier() override {}
  void broadcast(torch::Tensor& t, int root) override;
  void broadcast_bytes(std::string& s, int root) override;
  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  torch::Tensor all_gather(const torch::Tensor& t) override;
  torch::Tensor all_gather_v(const torch::Tensor& t) override;
  std::unique_ptr<Communicator> split(int color, int key) override;
};

}  // namespace hesp::comm
