#pragma once
// Data-parallel gradient averaging. Gradients are packed into size-capped buckets (one
// flat buffer per bucket, one dtype per bucket) so that a model with hundreds of small
// tensors costs a few large collectives instead of hundreds of small ones.
//
// Two ways to use it:
//  - all_reduce_grads() after backward(): every bucket, in order.
//  - enable_hooks() once, then backward() + finish(): an autograd hook on each parameter
//    copies the incoming gradient into its bucket and starts the bucket's all-reduce
//    (Communicator::all_reduce_async: MPI_Iallreduce, or NCCL on the communicator's
//    stream) as soon as the bucket is complete, so communication overlaps the rest of
//    backward. Buckets launch in index order on every rank, so the collectives match;
//    each later hook advances the ones in flight (MPI progresses only inside MPI calls).
//    finish() waits for them. This is what the trainer uses. No background thread: MPI
//    runs under MPI_THREAD_FUNNELED, and CPU backward runs the hooks on the calling thread.
//
// Plus the start-up checks of a data-parallel job: identical parameter lists on every
// rank, and identical initial values (broadcast from rank 0).
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "comm/communicator.h"

namespace hesp::optim {

struct GradBucket {
  std::vector<size_t> indices;   // Into the tensor list, in list order.
  std::vector<int64_t> offsets;  // Element offset of each tensor in the flat buffer.
  int64_t numel = 0;
  torch::ScalarType dtype = torch::kFloat;
};

// Greedy packing in list order: a bucket closes when the next tensor would push it past
// cap_bytes or has another dtype. A tensor larger than the cap gets a bucket of its own.
std::vector<GradBucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t cap_bytes);

// Averages each tensor in place across ranks (the mean over ranks), bucket by bucket.
// Tensors may be non-contiguous. Returns the number of all-reduce calls made.
int all_reduce_mean_bucketed(comm::Communicator& comm, const std::vector<torch::Tensor>& tensors,
                             int64_t cap_bytes);

class GradientAllReducer {
 public:
  // `params`: the learnable tensors, in the SAME order on every rank. For hook mode, list
  // them roughly in reverse order of use in forward (the order backward produces their
  // gradients) so that early buckets fill first.
  GradientAllReducer(comm::Communicator& comm, std::vector<torch::Tensor> params,
                     int64_t cap_bytes);
  ~GradientAllReducer();
  GradientAllReducer(const GradientAllReducer&) = delete;
  GradientAllReducer& operator=(const GradientAllReducer&) = delete;

  // Averages every parameter's .grad(). A parameter without a gradient counts as zeros
  // (and gets a zero gradient), so every rank runs the same collectives.
  void all_reduce_grads();

  // Hook mode. While hooks are on, backward leaves .grad() unchanged (the hook takes the
  // incoming gradient) and finish() adds the averaged gradient to .grad(), which is what
  // plain accumulation would have produced had every rank's gradient been the mean.
  void enable_hooks();
  // Launches the buckets not yet reduced (e.g. unused parameters: zeros) and writes the
  // results into .grad(). Call after every backward() in hook mode.
  void finish();

  size_t bucket_count() const { return buckets_.size(); }
  // All-reduce calls made so far (a test and benchmark hook).
  int64_t collectives() const { return collectives_; }

 private:
  // One bucket: which parameters it packs and where (the plan), and its state this round.
  struct Bucket {
    GradBucket layout;
    torch::Tensor flat;  // The packed gradients; hook mode only.
    int pending = 0;     // Gradients still to arrive this round.
    // Set from launch (bucket index < next_launch_) until finish().
    std::unique_ptr<comm::PendingCollective> in_flight;
  };
  // Where one parameter's gradient goes, and whether it arrived this round.
  struct ParamSlot {
    size_t bucket = 0;  // Index into buckets_.
    size_t slot = 0;    // Position inside its bucket's layout.
    bool received = false;
  };

  void on_grad_ready(size_t param_index, const torch::Tensor& grad);
  void launch_ready_buckets();
  void progress();
  void reset_round();

  comm::Communicator& comm_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<ParamSlot> slots_;  // Per parameter.
  size_t next_launch_ = 0;
  std::vector<unsigned> hook_ids_;
  bool hooks_ = false;
  std::thread::id hook_thread_;
  int64_t collectives_ = 0;
};

// Throws UserError (on every rank, same message) unless every rank has the same list of
// (name, dtype, shape), naming the first rank and tensor that differ. One all_gather
// of a hash when they agree.
void check_same_shapes(comm::Communicator& comm,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named);

// The name of the first tensor whose gradient holds a NaN or Inf; "" when every defined
// gradient is finite. The trainer's divergence check after the gradient all-reduce
// (docs/training.md, "Divergence"): one sum per tensor and one synchronisation while all
// are finite (an element-wise look only at a tensor whose sum is not); its cost is in
// tests/benchmarks/step_bench.cc.
std::string first_non_finite_gradient(
    const std::vector<std::pair<std::string, torch::Tensor>>& named);

// Overwrites every tensor with rank 0's values (e.g. freshly initialised prompts).
void broadcast_parameters(comm::Communicator& comm, const std::vector<torch::Tensor>& tensors);

}  // namespace hesp::optim
