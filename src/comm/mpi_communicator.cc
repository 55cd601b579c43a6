#include "comm/mpi_communicator.h"

#include <glog/logging.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <thread>

namespace hesp::comm {
namespace {

constexpr int kAnnounceTag = 7001;
constexpr int kEndNoticeTag = 7002;
constexpr int kEndAckTag = 7003;      // "Logged it": a rank's answer to the notice.
constexpr int kEndNoticeBytes = 320;  // "<exit code> <who>", NUL-terminated.

// The job-end notice channel (MpiCommunicator::abort_job): a duplicate of MPI_COMM_WORLD,
// made once by world() on every rank.
MPI_Comm g_end_notice = MPI_COMM_NULL;

// Called while waiting in a collective: when another rank has announced that it ends the
// job, logs which rank it was and waits for its MPI_Abort to arrive (or aborts the job
// itself after 10 s, should the failing rank not get that far).
void poll_end_notice() {
  if (g_end_notice == MPI_COMM_NULL) return;
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(MPI_ANY_SOURCE, kEndNoticeTag, g_end_notice, &flag, &status);
  if (!flag) return;
  char buf[kEndNoticeBytes] = {};
  MPI_Recv(buf, kEndNoticeBytes, MPI_CHAR, status.MPI_SOURCE, kEndNoticeTag, g_end_notice,
           MPI_STATUS_IGNORE);
  buf[kEndNoticeBytes - 1] = '\0';
  char* rest = nullptr;
  const int code = static_cast<int>(std::strtol(buf, &rest, 10));
  const std::string who = rest != nullptr && *rest == ' ' ? rest + 1 : "another rank";
  LOG(ERROR) << "the job is ending: " << who << " failed (its error is printed above and in "
             << "its log), exit code " << code;
  google::FlushLogFiles(google::GLOG_INFO);
  static int ack = 1;  // Outlives the send: the process ends below.
  MPI_Request req;
  MPI_Isend(&ack, 1, MPI_INT, status.MPI_SOURCE, kEndAckTag, g_end_notice, &req);
  MPI_Request_free(&req);
  std::this_thread::sleep_for(std::chrono::seconds(10));
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kByte:
      return MPI_UINT8_T;
    default:
      LOG(FATAL) << "MPI communicator: unsupported dtype " << t.scalar_type();
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_OP_NULL;
}

int checked_count(int64_t n) {
  CHECK_LE(n, int64_t{std::numeric_limits<int>::max()}) << "message too large for one MPI call";
  return static_cast<int>(n);
}

void check_cpu_contiguous(const torch::Tensor& t, const char* what) {
  CHECK(t.device().is_cpu()) << what << ": the MPI communicator takes CPU tensors";
  CHECK(t.is_contiguous()) << what << ": tensor must be contiguous";
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

std::shared_ptr<MpiCommunicator> MpiCommunicator::world() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    std::atexit(finalize_at_exit);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  if (g_end_notice == MPI_COMM_NULL) MPI_Comm_dup(MPI_COMM_WORLD, &g_end_notice);
  MPI_Comm dup;
  MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  return std::shared_ptr<MpiCommunicator>(new MpiCommunicator(dup));
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  MPI_Comm_dup(comm_, &side_);
  inspector_ = std::make_unique<StallInspector>(rank_, size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  announce_.release_all([](MPI_Request* r) { MPI_Request_free(r); });
  if (side_ != MPI_COMM_NULL) MPI_Comm_free(&side_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::abort_job(int exit_code, const std::string& who) {
  if (g_end_notice != MPI_COMM_NULL) {
    int rank = 0, size = 1;
    MPI_Comm_rank(g_end_notice, &rank);
    MPI_Comm_size(g_end_notice, &size);
    static char buf[kEndNoticeBytes];  // Outlives the sends: the process ends below.
    std::snprintf(buf, sizeof(buf), "%d %s", exit_code, who.c_str());
    std::vector<MPI_Request> reqs;
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      reqs.emplace_back();
      MPI_Isend(buf, kEndNoticeBytes, MPI_CHAR, r, kEndNoticeTag, g_end_notice, &reqs.back());
    }
    // Up to 5 s for the others to log who ended the job (each answers once it has: it is
    // then waiting in a collective); a rank that is busy or gone is not waited for longer.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int acks = 0, sent = 0;
    while (acks < size - 1 && std::chrono::steady_clock::now() < deadline) {
      if (!sent) {
        MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &sent, MPI_STATUSES_IGNORE);
      }
      int flag = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, kEndAckTag, g_end_notice, &flag, &status);
      if (flag) {
        int ack = 0;
        MPI_Recv(&ack, 1, MPI_INT, status.MPI_SOURCE, kEndAckTag, g_end_notice, MPI_STATUS_IGNORE);
        ++acks;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  // mpirun forwards each rank's stderr asynchronously and may drop what it has not read
  // when the abort arrives: a second for this rank's error line (and the others' lines).
  std::this_thread::sleep_for(std::chrono::seconds(1));
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::abort();  // MPI_Abort does not return; keeps [[noreturn]] true.
}

void MpiCommunicator::set_timeouts(const CollectiveTimeouts& timeouts) {
  inspector_->set_timeouts(timeouts);
}

void MpiCommunicator::drain_announcements() {
  int flag = 1;
  while (flag) {
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kAnnounceTag, side_, &flag, &status);
    if (!flag) break;
    int64_t packed = 0;
    MPI_Recv(&packed, 1, MPI_INT64_T, status.MPI_SOURCE, kAnnounceTag, side_, MPI_STATUS_IGNORE);
    int64_t seq = 0;
    CollectiveOp op = CollectiveOp::kUnknown;
    StallInspector::unpack(packed, &seq, &op);
    inspector_->announced(status.MPI_SOURCE, seq, op);
  }
}

void MpiCommunicator::begin(CollectiveOp op) {
  const int64_t seq = inspector_->begin(op);
  if (size_ == 1) return;
  // Retire completed announcements (their slots become free; the others stay where they
  // are, MPI may still read them), then post this one (tiny, eager: never blocks).
  announce_.retire([](MPI_Request* r) {
    int done = 0;
    MPI_Test(r, &done, MPI_STATUS_IGNORE);
    return done != 0;
  });
  if (rank_ == 0) {
    drain_announcements();
  } else if (auto* slot = announce_.acquire(StallInspector::pack(seq, op))) {
    MPI_Isend(&slot->value, 1, MPI_INT64_T, 0, kAnnounceTag, side_, &slot->request);
  }
}

void MpiCommunicator::wait(MPI_Request* req) {
  inspector_->start_wait();
  int done = 0;
  int spins = 0;
  while (true) {
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if ((spins & 255) == 0) poll_end_notice();  // Another rank ended the job?
    // Spin briefly (low latency for fast collectives), then back off to sleeping.
    if (++spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (!inspector_->due()) continue;
    if (rank_ == 0) drain_announcements();
    const StallReport report = inspector_->inspect();
    for (const auto& line : report.warnings) LOG(WARNING) << line;
    for (const auto& line : report.errors) LOG(ERROR) << line;
    if (report.abort) {
      google::FlushLogFiles(google::GLOG_INFO);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }
}

void MpiCommunicator::barrier() {
  begin(CollectiveOp::kBarrier);
  MPI_Request req;
  MPI_Ibarrier(comm_, &req);
  wait(&req);
}

void MpiCommunicator::broadcast(torch::Tensor& t, int root) {
  check_cpu_contiguous(t, "broadcast");
  CHECK(root >= 0 && root < size_) << "broadcast root out of range";
  begin(CollectiveOp::kBroadcast);
  MPI_Request req;
  MPI_Ibcast(t.data_ptr(), checked_count(t.numel()), mpi_type(t), root, comm_, &req);
  wait(&req);
}

void MpiCommunicator::broadcast_bytes(std::string& s, int root) {
  CHECK(root >= 0 && root < size_) << "broadcast root out of range";
  int64_t n = static_cast<int64_t>(s.size());
  begin(CollectiveOp::kBroadcastBytesSize);
  MPI_Request req;
  MPI_Ibcast(&n, 1, MPI_INT64_T, root, comm_, &req);
  wait(&req);
  s.resize(static_cast<size_t>(n));
  if (n == 0) return;
  begin(CollectiveOp::kBroadcastBytes);
  MPI_Ibcast(s.data(), checked_count(n), MPI_CHAR, root, comm_, &req);
  wait(&req);
}

// An MPI_Iallreduce in flight; holds the tensor so that its buffer outlives the request.
class MpiPendingAllReduce final : public PendingCollective {
 public:
  MpiPendingAllReduce(MpiCommunicator* comm, torch::Tensor t, MPI_Request req)
      : comm_(comm), tensor_(std::move(t)), req_(req) {}
  ~MpiPendingAllReduce() override { wait(); }
  bool test() override {
    if (req_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    MPI_Test(&req_, &done, MPI_STATUS_IGNORE);  // Sets req_ to MPI_REQUEST_NULL when done.
    return done != 0;
  }
  void wait() override {
    if (req_ != MPI_REQUEST_NULL) comm_->wait(&req_);
  }

 private:
  MpiCommunicator* comm_;
  torch::Tensor tensor_;
  MPI_Request req_;
};

std::unique_ptr<PendingCollective> MpiCommunicator::all_reduce_async(torch::Tensor t, ReduceOp op) {
  check_cpu_contiguous(t, "all_reduce");
  CHECK(t.scalar_type() != torch::kByte) << "all_reduce: unsupported dtype uint8";
  begin(CollectiveOp::kAllReduce);
  MPI_Request req;
  MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), checked_count(t.numel()), mpi_type(t), mpi_op(op),
                 comm_, &req);
  return std::make_unique<MpiPendingAllReduce>(this, std::move(t), req);
}

void MpiCommunicator::all_reduce(torch::Tensor& t, ReduceOp op) { all_reduce_async(t, op)->wait(); }

torch::Tensor MpiCommunicator::all_gather(const torch::Tensor& t) {
  check_cpu_contiguous(t, "all_gather");
  CHECK_GE(t.dim(), 1) << "all_gather needs a tensor with a leading dimension";
  auto sizes = t.sizes().vec();
  sizes[0] *= size_;
  auto out = torch::empty(sizes, t.options());
  begin(CollectiveOp::kAllGather);
  MPI_Request req;
  MPI_Iallgather(t.data_ptr(), checked_count(t.numel()), mpi_type(t), out.data_ptr(),
                 checked_count(t.numel()), mpi_type(t), comm_, &req);
  wait(&req);
  return out;
}

torch::Tensor MpiCommunicator::all_gather_v(const torch::Tensor& t) {
  check_cpu_contiguous(t, "all_gather_v");
  CHECK_GE(t.dim(), 1) << "all_gather_v needs a tensor with a leading dimension";
  int64_t row_elems = 1;  // Elements per leading-dimension row.
  for (int d = 1; d < t.dim(); ++d) row_elems *= t.size(d);
  auto counts = torch::empty({size_}, torch::kLong);
  int64_t mine = t.size(0);
  begin(CollectiveOp::kAllGatherVSizes);
  MPI_Request req;
  MPI_Iallgather(&mine, 1, MPI_INT64_T, counts.data_ptr(), 1, MPI_INT64_T, comm_, &req);
  wait(&req);
  std::vector<int> recv_counts(size_), displs(size_);
  int64_t total_rows = 0;
  for (int r = 0; r < size_; ++r) {
    const int64_t rows = counts[r].item<int64_t>();
    recv_counts[r] = checked_count(rows * row_elems);
    displs[r] = checked_count(total_rows * row_elems);
    total_rows += rows;
  }
  auto sizes = t.sizes().vec();
  sizes[0] = total_rows;
  auto out = torch::empty(sizes, t.options());
  begin(CollectiveOp::kAllGatherV);
  MPI_Iallgatherv(t.data_ptr(), checked_count(t.numel()), mpi_type(t), out.data_ptr(),
                  recv_counts.data(), displs.data(), mpi_type(t), comm_, &req);
  wait(&req);
  return out;
}

std::unique_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm sub;
  MPI_Comm_split(comm_, color, key, &sub);
  auto c = std::unique_ptr<MpiCommunicator>(new MpiCommunicator(sub));
  c->set_timeouts(inspector_->timeouts());
  return c;
}

}  // namespace hesp::comm
