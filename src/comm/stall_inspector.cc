#include "comm/stall_inspector.h"

#include <glog/logging.h>

#include <chrono>
#include <sstream>

namespace hesp::comm {
namespace {

// Announcements pack (sequence, operation) into one int64: sequence * kOpSlots + op.
constexpr int64_t kOpSlots = 64;

std::string seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

}  // namespace

const char* collective_op_name(CollectiveOp op) {
  switch (op) {
    case CollectiveOp::kBarrier:
      return "barrier";
    case CollectiveOp::kBroadcast:
      return "broadcast";
    case CollectiveOp::kBroadcastBytesSize:
      return "broadcast_bytes(size)";
    case CollectiveOp::kBroadcastBytes:
      return "broadcast_bytes";
    case CollectiveOp::kAllReduce:
      return "all_reduce";
    case CollectiveOp::kAllGather:
      return "all_gather";
    case CollectiveOp::kAllGatherVSizes:
      return "all_gather_v(sizes)";
    case CollectiveOp::kAllGatherV:
      return "all_gather_v";
    case CollectiveOp::kUnknown:
      break;
  }
  return "?";
}

double StallInspector::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

StallInspector::StallInspector(int rank, int size, Clock clock)
    : rank_(rank),
      size_(size),
      clock_(std::move(clock)),
      last_seen_(static_cast<size_t>(size), 0),
      last_op_(static_cast<size_t>(size), CollectiveOp::kUnknown) {
  CHECK(rank >= 0 && rank < size) << "StallInspector: rank " << rank << " of " << size;
}

int64_t StallInspector::begin(CollectiveOp op) {
  ++seq_;
  op_ = op;
  if (rank_ == 0) {
    last_seen_[0] = seq_;
    last_op_[0] = op_;
  }
  return seq_;
}

void StallInspector::start_wait() {
  wait_start_ = clock_();
  next_warning_ = timeouts_.stall_warning_s > 0 ? wait_start_ + timeouts_.stall_warning_s : -1.0;
}

void StallInspector::announced(int rank, int64_t seq, CollectiveOp op) {
  CHECK(rank >= 0 && rank < size_) << "StallInspector: announcement from rank " << rank;
  if (seq < last_seen_[static_cast<size_t>(rank)]) return;
  last_seen_[static_cast<size_t>(rank)] = seq;
  last_op_[static_cast<size_t>(rank)] = op;
}

bool StallInspector::due() const {
  if (timeouts_.stall_warning_s <= 0 && timeouts_.stall_abort_s <= 0) return false;
  const double now = clock_();
  return (next_warning_ >= 0 && now >= next_warning_) ||
         (timeouts_.stall_abort_s > 0 && now - wait_start_ >= timeouts_.stall_abort_s);
}

StallReport StallInspector::inspect() {
  StallReport report;
  const double now = clock_();
  const double waited = now - wait_start_;
  const std::string what =
      "collective #" + std::to_string(seq_) + " (" + collective_op_name(op_) + ")";
  if (rank_ == 0) {
    for (int r = 1; r < size_; ++r) {
      const auto i = static_cast<size_t>(r);
      if (last_seen_[i] == seq_ && last_op_[i] != op_) {
        report.errors.push_back("collective mismatch: rank 0 is in #" + std::to_string(seq_) + " " +
                                collective_op_name(op_) + " but rank " + std::to_string(r) +
                                " is in #" + std::to_string(seq_) + " " +
                                collective_op_name(last_op_[i]) + "; aborting the job");
        report.abort = true;
        return report;
      }
    }
  }
  if (next_warning_ >= 0 && now >= next_warning_) {
    if (rank_ == 0) {
      std::string missing;
      for (int r = 0; r < size_; ++r) {
        if (last_seen_[static_cast<size_t>(r)] < seq_) {
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        }
      }
      report.warnings.push_back("stall: " + what + " has waited " +
                                std::to_string(static_cast<int>(waited)) +
                                " s; ranks that have not reached it: " +
                                (missing.empty() ? "none (they are inside it)" : missing));
    } else {
      report.warnings.push_back("stall: rank " + std::to_string(rank_) + " has waited " +
                                std::to_string(static_cast<int>(waited)) + " s in " + what +
                                "; rank 0 logs the missing ranks");
    }
    next_warning_ = now + timeouts_.stall_warning_s;
  }
  if (timeouts_.stall_abort_s > 0 && waited >= timeouts_.stall_abort_s) {
    report.errors.push_back("aborting the job: " + what + " stalled for more than " +
                            seconds(timeouts_.stall_abort_s) + " s");
    report.abort = true;
  }
  return report;
}

int64_t StallInspector::pack(int64_t seq, CollectiveOp op) {
  return seq * kOpSlots + static_cast<int64_t>(op);
}

void StallInspector::unpack(int64_t packed, int64_t* seq, CollectiveOp* op) {
  *seq = packed / kOpSlots;
  const int64_t code = packed % kOpSlots;
  *op = code >= 1 && code <= 8 ? static_cast<CollectiveOp>(code) : CollectiveOp::kUnknown;
}

}  // namespace hesp::comm
