// The announcement send slots (comm/send_slots.h): a buffer handed to a non-blocking send
// keeps its address and its value until that send completes, whatever completes around it.
// The request type here is a plain int (0 = none), standing for MPI_Request.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "comm/send_slots.h"

namespace hesp::comm {
namespace {

using Slots = SendSlots<int, 4>;

TEST(SendSlots, RetiringOneSendLeavesTheOthersInPlace) {
  Slots slots(0);
  std::vector<Slots::Slot*> sent;
  for (int i = 0; i < 3; ++i) {
    auto* s = slots.acquire(100 + i);
    ASSERT_NE(s, nullptr);
    s->request = i + 1;  // "Isend" from &s->value.
    sent.push_back(s);
  }
  // The first send completes, the later two are still in flight: their buffers must not
  // move (the old vector erased element 0 and shifted the others under MPI).
  slots.retire([](int* r) { return *r == 1; });
  EXPECT_EQ(slots.in_flight(), 2u);
  EXPECT_EQ(sent[1]->value, 101);
  EXPECT_EQ(sent[1]->request, 2);
  EXPECT_EQ(sent[2]->value, 102);
  EXPECT_EQ(sent[2]->request, 3);
  // A new message takes the free slot, never a busy one.
  auto* next = slots.acquire(200);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next, sent[0]);
  next->request = 4;
  EXPECT_EQ(sent[1]->value, 101);
  EXPECT_EQ(sent[2]->value, 102);
}

TEST(SendSlots, FullMeansDroppedNotOverwritten) {
  Slots slots(0);
  std::set<Slots::Slot*> busy;
  for (int i = 0; i < 4; ++i) {
    auto* s = slots.acquire(i);
    ASSERT_NE(s, nullptr);
    s->request = 10 + i;
    busy.insert(s);
  }
  EXPECT_EQ(busy.size(), 4u) << "four distinct buffers";
  EXPECT_EQ(slots.acquire(99), nullptr) << "every slot in flight: no buffer to reuse";
  for (auto* s : busy) EXPECT_NE(s->value, 99);
  slots.retire([](int*) { return false; });  // Nothing completed.
  EXPECT_EQ(slots.acquire(99), nullptr);
  slots.retire([](int* r) { return *r == 12; });
  auto* s = slots.acquire(99);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, 99);
}

TEST(SendSlots, UnstartedSlotStaysFreeAndReleaseFreesAll) {
  Slots slots(0);
  auto* a = slots.acquire(1);
  ASSERT_NE(a, nullptr);  // Not started: request left at 0.
  EXPECT_EQ(slots.in_flight(), 0u);
  EXPECT_EQ(slots.acquire(2), a);
  a->request = 7;
  std::vector<int> released;
  slots.release_all([&](int* r) { released.push_back(*r); });
  EXPECT_EQ(released, std::vector<int>{7});
  EXPECT_EQ(slots.in_flight(), 0u);
}

}  // namespace
}  // namespace hesp::comm
