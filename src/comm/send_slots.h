#pragma once
// Send buffers for small non-blocking messages whose addresses never move.
//
// MPI forbids touching a send buffer until its request completes (MPI 4.0, 3.7.3): the
// library may read it at any time before then. A growing or erased std::vector moves its
// elements, so a vector of buffers indexed alongside a vector of requests would hand MPI a
// pointer that later points at another message. SendSlots keeps a fixed array of
// (value, request) pairs: a slot's address is fixed for the object's lifetime, a slot is
// reused only after its own request has completed, and retiring one slot never touches
// another.
//
// `Request` is the request type (MPI_Request in comm/mpi_communicator.cc); `null` is its
// "no request" value (MPI_REQUEST_NULL). Not thread-safe (one communicator, one thread).
#include <array>
#include <cstddef>
#include <cstdint>

namespace hesp::comm {

template <typename Request, size_t N>
class SendSlots {
 public:
  struct Slot {
    int64_t value = 0;  // The message: the send buffer handed to MPI.
    Request request;    // `null` while the slot is free.
  };

  explicit SendSlots(Request null) : null_(null) {
    for (auto& s : slots_) s.request = null_;
  }
  SendSlots(const SendSlots&) = delete;
  SendSlots& operator=(const SendSlots&) = delete;

  // Calls `test(&request)` for every busy slot; `test` completes the request when it can
  // (MPI_Test sets it to MPI_REQUEST_NULL when done) and returns whether it did. A slot whose
  // request came back `null` is free again. Other slots are not touched.
  template <typename Test>
  void retire(Test test) {
    for (auto& s : slots_) {
      if (s.request == null_) continue;
      if (test(&s.request)) s.request = null_;
    }
  }

  // A free slot now holding `value`, or nullptr when all N are in flight (the caller then
  // drops the message). The caller starts the send from &slot->value into &slot->request
  // at once; a slot whose request it leaves `null` stays free.
  Slot* acquire(int64_t value) {
    for (auto& s : slots_) {
      if (s.request != null_) continue;
      s.value = value;
      return &s;
    }
    return nullptr;
  }

  // Slots whose request is not `null`.
  size_t in_flight() const {
    size_t n = 0;
    for (const auto& s : slots_) n += s.request != null_;
    return n;
  }

  static constexpr size_t capacity() { return N; }

  // Calls `release(&request)` on every busy slot (MPI_Request_free at teardown).
  template <typename Release>
  void release_all(Release release) {
    for (auto& s : slots_) {
      if (s.request != null_) release(&s.request);
      s.request = null_;
    }
  }

 private:
  Request null_;
  std::array<Slot, N> slots_{};
};

}  // namespace hesp::comm
