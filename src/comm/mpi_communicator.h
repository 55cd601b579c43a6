#pragma once
// MPI backend for CPU tensors. Collectives are issued non-blocking and completed by a
// polling wait, so that a stall can be noticed: after the warn timeout rank 0 logs which
// ranks have not reached the collective (each rank announces its collective sequence
// number on a side channel), and after the abort timeout the job is aborted instead of
// hanging. MPI errors are fatal (MPI_ERRORS_ARE_FATAL).
#include <mpi.h>

#include <memory>
#include <vector>

#include "comm/communicator.h"

namespace hesp::comm {

class MpiCommunicator final : public Communicator {
 public:
  // MPI_COMM_WORLD (duplicated). Initialises MPI (MPI_THREAD_FUNNELED) on first call and
  // registers MPI_Finalize at exit.
  static std::shared_ptr<MpiCommunicator> world();

  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }

  void barrier() override;
  void broadcast(torch::Tensor& t, int root) override;
  void broadcast_bytes(std::string& s, int root) override;
  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  // MPI_Iallreduce; test() calls MPI_Test, wait() polls with the stall inspector.
  std::unique_ptr<PendingCollective> all_reduce_async(torch::Tensor t, ReduceOp op) override;
  torch::Tensor all_gather(const torch::Tensor& t) override;
  torch::Tensor all_gather_v(const torch::Tensor& t) override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  void set_stall_timeouts(double warn_s, double abort_s) override;

  MPI_Comm handle() const { return comm_; }

 private:
  friend class MpiPendingAllReduce;
  explicit MpiCommunicator(MPI_Comm comm);  // Takes ownership of comm.

  // Announces entry into a collective, then waits for `req` with stall inspection.
  void begin(const char* what);
  void wait(MPI_Request* req, const char* what);
  void drain_announcements();

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm side_ = MPI_COMM_NULL;  // Stall-inspector announcements.
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  int64_t seq_ = 0;
  std::vector<int64_t> announce_buf_;  // Send buffers (one per in-flight Isend).
  std::vector<MPI_Request> announce_reqs_;
  std::vector<int64_t> last_seen_;  // On rank 0: the last sequence seen per rank...
  std::vector<int64_t> last_op_;    // ...and the operation it announced with it.
  int64_t op_ = 0;                  // This rank's current operation code.
  double warn_s_ = 60.0, abort_s_ = 0.0;
};

}  // namespace hesp::comm
