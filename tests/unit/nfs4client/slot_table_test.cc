// SlotTable: RFC 8881 2.10.6 sequencing from the client's side.

#include "nfs4client/slot_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace manifold::nfs4client {
namespace {

using std::chrono::milliseconds;
using Outcome = SlotTable::Outcome;

TEST(SlotTable, FirstRequestOnASlotUsesSeqidOneAndOnlyADoneRequestAdvancesIt) {
  SlotTable t(2);
  auto a = t.Acquire(milliseconds(10));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(a->seqid, 1u);
  t.Release(a->slot, Outcome::kNotSeen);  // e.g. SEQUENCE answered NFS4ERR_DELAY
  a = t.Acquire(milliseconds(10));
  EXPECT_EQ(a->seqid, 1u);
  t.Release(a->slot, Outcome::kDone);
  a = t.Acquire(milliseconds(10));
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(a->seqid, 2u);
}

TEST(SlotTable, BusySlotsAreNotHandedOutTwiceAndHighestSlotCountsThem) {
  SlotTable t(3);
  auto a = t.Acquire(milliseconds(10));
  auto b = t.Acquire(milliseconds(10));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(b->slot, 1u);
  EXPECT_EQ(b->highest_slot, 1u);
  EXPECT_EQ(t.in_use(), 2u);
  t.Release(a->slot, Outcome::kDone);
  auto c = t.Acquire(milliseconds(10));
  EXPECT_EQ(c->slot, 0u);
  EXPECT_EQ(c->highest_slot, 1u);  // slot 1 still busy
}

TEST(SlotTable, AcquireTimesOutWhenEverySlotIsBusy) {
  SlotTable t(1);
  auto a = t.Acquire(milliseconds(10));
  ASSERT_TRUE(a.ok());
  auto b = t.Acquire(milliseconds(20));
  EXPECT_EQ(b.status().code(), Code::kUnavailable);
}

TEST(SlotTable, ALostReplyRetiresTheSlotAndAllRetiredIsAnError) {
  SlotTable t(2);
  auto a = t.Acquire(milliseconds(10));
  t.Release(a->slot, Outcome::kLost);
  auto b = t.Acquire(milliseconds(10));
  EXPECT_EQ(b->slot, 1u);  // slot 0 is never reused: its seqid on the server is unknown
  t.Release(b->slot, Outcome::kLost);
  EXPECT_EQ(t.retired(), 2u);
  EXPECT_EQ(t.Acquire(milliseconds(10)).status().code(), Code::kUnavailable);
}

TEST(SlotTable, TargetHighestSlotLimitsWhichSlotsAreUsed) {
  SlotTable t(4);
  t.SetTargetHighest(0);
  auto a = t.Acquire(milliseconds(10));
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(t.Acquire(milliseconds(10)).status().code(), Code::kUnavailable);
  t.SetTargetHighest(3);
  EXPECT_EQ(t.Acquire(milliseconds(10))->slot, 1u);
}

TEST(SlotTable, ConcurrentUsersNeverShareASlotAndSeqidsStayConsecutive) {
  constexpr int kThreads = 8, kRounds = 500;
  SlotTable t(3);
  std::vector<std::atomic<int>> holders(3);
  std::vector<std::atomic<uint32_t>> last_seqid(3);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; r++) {
        auto k = t.Acquire(milliseconds(5000));
        if (!k.ok()) {
          errors++;
          continue;
        }
        if (holders[k->slot]++ != 0) errors++;
        if (k->seqid != last_seqid[k->slot] + 1) errors++;
        last_seqid[k->slot] = k->seqid;
        holders[k->slot]--;
        t.Release(k->slot, Outcome::kDone);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(last_seqid[0] + last_seqid[1] + last_seqid[2], uint32_t(kThreads * kRounds));
}

}  // namespace
}  // namespace manifold::nfs4client
