#pragma once
// The stall inspector (anchor: Horovod's StallInspector): decides, for the collective a
// rank is waiting in, when to warn, whom to name and when to abort. It knows nothing of
// MPI: the backend tells it which collective this rank entered (begin), what the other
// ranks announced (announced, rank 0 only) and asks it while waiting (due, inspect); the
// backend then logs and aborts. The clock is injected, so tests drive time in one process.
//
// Timeouts (distributed.stall_warning_s, distributed.stall_abort_s; 0 = never):
//   after stall_warning_s, and again every stall_warning_s, rank 0 warns naming the ranks
//   that have not reached the collective, the other ranks warn that they wait;
//   after stall_abort_s the job is aborted, naming the collective;
//   at any check, rank 0 aborts when another rank announced the same collective number
//   for a DIFFERENT operation (a programming error that would otherwise hang).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hesp::comm {

// The collectives of a communicator (for the announcements and the messages).
enum class CollectiveOp : int64_t {
  kUnknown = 0,
  kBarrier = 1,
  kBroadcast = 2,
  kBroadcastBytesSize = 3,
  kBroadcastBytes = 4,
  kAllReduce = 5,
  kAllGather = 6,
  kAllGatherVSizes = 7,
  kAllGatherV = 8,
};
// "barrier", "broadcast", "broadcast_bytes(size)", ..., "?" for kUnknown.
const char* collective_op_name(CollectiveOp op);

// How long a collective may wait; 0 = never.
struct CollectiveTimeouts {
  double stall_warning_s = 60.0;  // Warn (and check for mismatched collectives).
  double stall_abort_s = 0.0;     // Abort the job (host collectives: MPI).
  double nccl_timeout_s = 0.0;    // Abort the NCCL communicator (device collectives).
};

// What the backend must do after inspect().
struct StallReport {
  std::vector<std::string> errors;    // LOG(ERROR) lines (a mismatch, the abort reason).
  std::vector<std::string> warnings;  // LOG(WARNING) lines.
  bool abort = false;                 // Abort the whole job now.
};

class StallInspector {
 public:
  using Clock = std::function<double()>;  // Monotonic seconds.
  // The steady clock.
  static double steady_seconds();

  StallInspector(int rank, int size, Clock clock = steady_seconds);

  void set_timeouts(const CollectiveTimeouts& t) { timeouts_ = t; }
  const CollectiveTimeouts& timeouts() const { return timeouts_; }

  // This rank enters its next collective; returns its sequence number (1, 2, ...).
  int64_t begin(CollectiveOp op);
  // This rank starts waiting for the collective it entered last.
  void start_wait();
  // Rank 0: `rank` announced that it entered collective `seq` with operation `op`. Older
  // announcements than the last one seen from that rank are ignored.
  void announced(int rank, int64_t seq, CollectiveOp op);

  // Whether an inspection is due now (cheap: one clock read). Never with both timeouts 0.
  bool due() const;
  // The inspection: warnings, and whether to abort. Schedules the next one.
  StallReport inspect();

  int64_t sequence() const { return seq_; }
  CollectiveOp current_op() const { return op_; }

  // One int64 on the wire for (sequence, operation).
  static int64_t pack(int64_t seq, CollectiveOp op);
  static void unpack(int64_t packed, int64_t* seq, CollectiveOp* op);

 private:
  int rank_, size_;
  Clock clock_;
  CollectiveTimeouts timeouts_;
  int64_t seq_ = 0;
  CollectiveOp op_ = CollectiveOp::kUnknown;
  double wait_start_ = 0;
  double next_warning_ = -1;           // Clock time of the next warning; < 0 = none.
  std::vector<int64_t> last_seen_;     // Rank 0: the last sequence announced per rank...
  std::vector<CollectiveOp> last_op_;  // ...and its operation.
};

}  // namespace hesp::comm
