#pragma once
// MPI backend for CPU tensors. Collectives are issued non-blocking and completed by a
// polling wait, so that a stall can be noticed by the StallInspector (stall_inspector.h):
// after distributed.stall_warning_s rank 0 logs which ranks have not reached the
// collective (each rank announces its collective sequence number and operation on a side
// channel), and after distributed.stall_abort_s the job is aborted instead of hanging. MPI errors
// are fatal (MPI_ERRORS_ARE_FATAL).
#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/send_slots.h"
#include "comm/stall_inspector.h"

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
  Backend backend() const override { return Backend::kMpi; }

  void barrier() override;
  void broadcast(torch::Tensor& t, int root) override;
  void broadcast_bytes(std::string& s, int root) override;
  void all_reduce(torch::Tensor& t, ReduceOp op) override;
  // MPI_Iallreduce; test() calls MPI_Test, wait() polls with the stall inspector.
  std::unique_ptr<PendingCollective> all_reduce_async(torch::Tensor t, ReduceOp op) override;
  torch::Tensor all_gather(const torch::Tensor& t) override;
  torch::Tensor all_gather_v(const torch::Tensor& t) override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  void set_timeouts(const CollectiveTimeouts& timeouts) override;

  MPI_Comm handle() const { return comm_; }

  // Ends the whole job after an error on this rank (comm::end_job_after_error): sends
  // "`who` ended the job" to every other rank on a channel of its own (a duplicate of
  // MPI_COMM_WORLD made by world()), then calls MPI_Abort(MPI_COMM_WORLD, exit_code) once
  // every other rank has answered or after 5 s. A rank waiting in a collective polls that
  // channel (wait()), logs "the job is ending: <who> failed ...", answers, and waits for
  // the abort; it aborts the job itself if the failing rank could not within 10 s. A rank
  // busy elsewhere is ended by the abort without a word (mpirun names the failing rank).
  [[noreturn]] static void abort_job(int exit_code, const std::string& who);

 private:
  friend class MpiPendingAllReduce;
  explicit MpiCommunicator(MPI_Comm comm);  // Takes ownership of comm.

  // Announces entry into a collective (to rank 0's inspector)...
  void begin(CollectiveOp op);
  // ...then waits for `req`, inspecting stalls (stall_inspector.h).
  void wait(MPI_Request* req);
  void drain_announcements();

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm side_ = MPI_COMM_NULL;  // Stall-inspector announcements.
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::unique_ptr<StallInspector> inspector_;
  // Announcements in flight to rank 0: buffers that never move until their Isend is done
  // (comm/send_slots.h). When all are in flight a new announcement is dropped.
  SendSlots<MPI_Request, 64> announce_{MPI_REQUEST_NULL};
};

}  // namespace hesp::comm
