#include "optim/gradient_allreduce.h"

#include <glog/logging.h>

#include <sstream>

#include "util/errors.h"
#include "util/hash.h"

namespace hesp::optim {
namespace {

int64_t tensor_bytes(const torch::Tensor& t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}

torch::Tensor slice_of(const torch::Tensor& flat, const GradBucket& b, size_t slot,
                       const torch::Tensor& like) {
  return flat.narrow(0, b.offsets[slot], like.numel()).view(like.sizes());
}

// Packs, averages and unpacks one bucket of `tensors` (in place).
void reduce_bucket(comm::Communicator& comm, const GradBucket& b,
                   const std::vector<torch::Tensor>& tensors) {
  // On the tensors' device: CUDA gradients are reduced by NCCL without a host copy.
  const auto device = tensors[b.indices.front()].device();
  auto flat = torch::empty({b.numel}, torch::TensorOptions().dtype(b.dtype).device(device));
  for (size_t k = 0; k < b.indices.size(); ++k) {
    const auto& t = tensors[b.indices[k]];
    flat.narrow(0, b.offsets[k], t.numel()).copy_(t.reshape(-1));
  }
  comm.all_reduce_mean(flat);
  for (size_t k = 0; k < b.indices.size(); ++k) {
    const auto& t = tensors[b.indices[k]];
    t.copy_(slice_of(flat, b, k, t));
  }
}

std::string describe_tensor(const std::string& name, const torch::Tensor& t) {
  std::ostringstream os;
  os << name << "|" << t.scalar_type() << "|" << t.sizes();
  return os.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string readable(const std::string& entry) {
  // "name|Float|[3, 4]" -> "'name' (Float[3, 4])"
  const size_t a = entry.find('|');
  const size_t b = entry.find('|', a + 1);
  if (a == std::string::npos || b == std::string::npos) return entry;
  return "'" + entry.substr(0, a) + "' (" + entry.substr(a + 1, b - a - 1) + entry.substr(b + 1) +
         ")";
}

// The first difference between this rank's list and rank 0's, or "".
std::string first_difference(int rank, const std::vector<std::string>& mine,
                             const std::vector<std::string>& root) {
  const std::string r = "rank " + std::to_string(rank);
  for (size_t k = 0; k < std::max(mine.size(), root.size()); ++k) {
    if (k >= mine.size()) {
      return r + " has " + std::to_string(mine.size()) + " tensors, rank 0 has " +
             std::to_string(root.size()) + "; missing on " + r + ": " + readable(root[k]);
    }
    if (k >= root.size()) {
      return r + " has " + std::to_string(mine.size()) + " tensors, rank 0 has " +
             std::to_string(root.size()) + "; extra on " + r + ": " + readable(mine[k]);
    }
    if (mine[k] != root[k]) {
      const std::string name_mine = mine[k].substr(0, mine[k].find('|'));
      const std::string name_root = root[k].substr(0, root[k].find('|'));
      if (name_mine == name_root) {  // Same tensor, other dtype or shape.
        auto type_shape = [](const std::string& e) {
          const size_t a = e.find('|'), b = e.find('|', a + 1);
          return e.substr(a + 1, b - a - 1) + e.substr(b + 1);
        };
        return "tensor '" + name_mine + "' is " + type_shape(mine[k]) + " on " + r + " but " +
               type_shape(root[k]) + " on rank 0";
      }
      return "tensor #" + std::to_string(k) + " is " + readable(mine[k]) + " on " + r + " but " +
             readable(root[k]) + " on rank 0";
    }
  }
  return "";
}

}  // namespace

std::vector<GradBucket> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t cap_bytes) {
  CHECK_GT(cap_bytes, 0);
  std::vector<GradBucket> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    CHECK(t.defined()) << "plan_buckets: tensor " << i << " is undefined";
    const int64_t nb = tensor_bytes(t);
    const bool fits =
        !buckets.empty() && buckets.back().dtype == t.scalar_type() && bytes + nb <= cap_bytes;
    if (!fits) {
      buckets.emplace_back();
      buckets.back().dtype = t.scalar_type();
      bytes = 0;
    }
    auto& b = buckets.back();
    b.indices.push_back(i);
    b.offsets.push_back(b.numel);
    b.numel += t.numel();
    bytes += nb;
  }
  return buckets;
}

int all_reduce_mean_bucketed(comm::Communicator& comm, const std::vector<torch::Tensor>& tensors,
                             int64_t cap_bytes) {
  torch::NoGradGuard no_grad;
  const auto buckets = plan_buckets(tensors, cap_bytes);
  for (const auto& b : buckets) {
    CHECK(torch::isFloatingType(b.dtype))
        << "averaging needs floating-point tensors, got " << b.dtype;
    reduce_bucket(comm, b, tensors);
  }
  return static_cast<int>(buckets.size());
}

GradientAllReducer::GradientAllReducer(comm::Communicator& comm, std::vector<torch::Tensor> params,
                                       int64_t cap_bytes)
    : comm_(comm), params_(std::move(params)), slots_(params_.size()) {
  for (auto& layout : plan_buckets(params_, cap_bytes)) {
    CHECK(torch::isFloatingType(layout.dtype))
        << "gradients must be floating point, got " << layout.dtype;
    for (size_t k = 0; k < layout.indices.size(); ++k) {
      slots_[layout.indices[k]].bucket = buckets_.size();
      slots_[layout.indices[k]].slot = k;
    }
    buckets_.push_back(Bucket{std::move(layout), {}, 0, nullptr});
  }
}

GradientAllReducer::~GradientAllReducer() {
  if (!hooks_) return;
  for (size_t i = 0; i < params_.size(); ++i) params_[i].remove_hook(hook_ids_[i]);
}

void GradientAllReducer::all_reduce_grads() {
  CHECK(!hooks_) << "all_reduce_grads() is for non-hook mode; call finish() with hooks";
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  grads.reserve(params_.size());
  for (auto& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  for (const auto& b : buckets_) {
    reduce_bucket(comm_, b.layout, grads);
    ++collectives_;
  }
}

void GradientAllReducer::enable_hooks() {
  CHECK(!hooks_) << "hooks already enabled";
  hooks_ = true;
  hook_thread_ = std::this_thread::get_id();
  for (auto& b : buckets_) {
    const auto device = params_[b.layout.indices.front()].device();
    b.flat =
        torch::zeros({b.layout.numel}, torch::TensorOptions().dtype(b.layout.dtype).device(device));
  }
  reset_round();
  for (size_t i = 0; i < params_.size(); ++i) {
    CHECK(params_[i].requires_grad()) << "parameter " << i << " does not require grad";
    hook_ids_.push_back(params_[i].register_hook([this, i](torch::Tensor grad) {
      on_grad_ready(i, grad);
      // The hook took the gradient; what .grad() accumulates now is zero, and finish()
      // adds the average instead.
      return torch::zeros_like(grad);
    }));
  }
}

void GradientAllReducer::reset_round() {
  for (auto& b : buckets_) {
    b.in_flight.reset();
    b.flat.zero_();
    b.pending = static_cast<int>(b.layout.indices.size());
  }
  for (auto& s : slots_) s.received = false;
  next_launch_ = 0;
}

void GradientAllReducer::on_grad_ready(size_t i, const torch::Tensor& grad) {
  // MPI_THREAD_FUNNELED: only the thread that initialised MPI may call it. CPU backward
  // runs hooks on the calling thread; a device backward would not.
  if (comm_.backend() == comm::Backend::kMpi) {
    CHECK(std::this_thread::get_id() == hook_thread_)
        << "gradient hook ran on another thread; the MPI communicator needs the main "
           "thread: use all_reduce_grads() after backward instead of hooks";
  }
  ParamSlot& s = slots_[i];
  CHECK(!s.received) << "parameter " << i
                     << " got a second gradient before finish(); call finish() after "
                        "every backward()";
  s.received = true;
  Bucket& b = buckets_[s.bucket];
  torch::NoGradGuard no_grad;
  b.flat.narrow(0, b.layout.offsets[s.slot], grad.numel()).copy_(grad.reshape(-1));
  if (--b.pending == 0) launch_ready_buckets();
  progress();
}

void GradientAllReducer::launch_ready_buckets() {
  // Index order on every rank: collectives must be issued in the same order everywhere.
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& b = buckets_[next_launch_];
    b.in_flight = comm_.all_reduce_async(b.flat, comm::ReduceOp::kSum);
    ++collectives_;
    ++next_launch_;
  }
}

void GradientAllReducer::progress() {
  // MPI advances a non-blocking collective only inside MPI calls: poke the ones in flight
  // each time backward hands over a gradient, so they run while backward computes.
  for (size_t b = 0; b < next_launch_; ++b) buckets_[b].in_flight->test();
}

void GradientAllReducer::finish() {
  CHECK(hooks_) << "finish() is for hook mode";
  torch::NoGradGuard no_grad;
  // Buckets with parameters that got no gradient: their slots stay zero.
  for (size_t b = next_launch_; b < buckets_.size(); ++b) buckets_[b].pending = 0;
  launch_ready_buckets();
  const int ranks = comm_.size();
  for (auto& b : buckets_) {
    b.in_flight->wait();
    b.in_flight.reset();
    // The mean, as Communicator::all_reduce_mean computes it (sum, then one division).
    if (ranks > 1) b.flat.div_(ranks);
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const ParamSlot& s = slots_[i];
    const Bucket& b = buckets_[s.bucket];
    const auto avg = slice_of(b.flat, b.layout, s.slot, p);
    if (!p.grad().defined()) {
      p.mutable_grad() = avg.clone();
    } else {
      p.mutable_grad().add_(avg);
    }
  }
  reset_round();
}

void check_same_shapes(comm::Communicator& comm,
                       const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  std::string text;
  for (const auto& [name, t] : named) text += describe_tensor(name, t) + "\n";
  // 60 bits of SHA-256: collisions between two different parameter lists are not a
  // practical concern, and the value fits a positive int64.
  const int64_t h =
      static_cast<int64_t>(std::stoull(hash::sha256_hex(text).substr(0, 15), nullptr, 16));
  const auto all = comm.all_gather(torch::tensor({h}, torch::kInt64));
  bool same = true;
  for (int r = 0; r < comm.size(); ++r)
    same = same && all[r].item<int64_t>() == all[0].item<int64_t>();
  if (same) return;

  const std::string root_text = comm.broadcast_string(text, 0);
  const std::string mine = first_difference(comm.rank(), split_lines(text), split_lines(root_text));
  std::string report;
  for (int r = 1; r < comm.size(); ++r) {
    const std::string msg = comm.broadcast_string(mine, r);
    if (!msg.empty()) report += "\n  " + msg;
  }
  throw UserError(
      "the ranks do not hold the same parameters (different model or config per "
      "rank?):" +
      report);
}

void broadcast_parameters(comm::Communicator& comm, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    torch::Tensor data = t.detach();
    if (data.is_contiguous()) {
      comm.broadcast(data, 0);
    } else {
      torch::Tensor tmp = data.contiguous();
      comm.broadcast(tmp, 0);
      data.copy_(tmp);
    }
  }
}

std::string first_non_finite_gradient(
    const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  // Fast path: one sum per tensor (one pass, no tensor-sized temporary) and one
  // synchronisation. A NaN or Inf element makes its sum non-finite; a finite sum proves
  // every element finite.
  std::vector<torch::Tensor> sums;
  std::vector<size_t> index;
  for (size_t i = 0; i < named.size(); ++i) {
    const auto& g = named[i].second.grad();
    if (!g.defined()) continue;
    sums.push_back(g.sum());
    index.push_back(i);
  }
  if (sums.empty()) return "";
  const auto finite = torch::isfinite(torch::stack(sums)).to(torch::kCPU);
  if (finite.all().item<bool>()) return "";
  // Slow path (rare): element-wise, since a sum of finite elements can overflow.
  for (size_t k = 0; k < index.size(); ++k) {
    if (finite[static_cast<int64_t>(k)].item<bool>()) continue;
    const auto& [name, t] = named[index[k]];
    if (!torch::isfinite(t.grad()).all().item<bool>()) return name;
  }
  return "";
}

}  // namespace hesp::optim
