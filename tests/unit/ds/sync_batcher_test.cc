// SyncBatcher: concurrent fsyncs of one object share a sync that started after every
// caller's change; a failed sync fails the callers it was to cover.
#include "ds/sync_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace manifold::ds {
namespace {

// A fake object: changes bump `version`; a sync makes durable what existed when it started.
struct FakeObject {
  std::atomic<uint64_t> version{0};
  std::atomic<uint64_t> durable{0};
  std::atomic<int> syncs_running{0};
  std::atomic<int> overlapping{0};

  int Sync() {
    if (syncs_running.fetch_add(1) != 0) overlapping++;
    uint64_t snapshot = version.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the disk
    uint64_t prev = durable.load();
    while (prev < snapshot && !durable.compare_exchange_weak(prev, snapshot)) {
    }
    syncs_running.fetch_sub(1);
    return 0;
  }
};

TEST(SyncBatcherTest, OneCallerRunsOneSync) {
  SyncBatcher b;
  FakeObject obj;
  obj.version = 1;
  EXPECT_EQ(b.Sync(1, 2, [&] { return obj.Sync(); }), 0);
  EXPECT_EQ(obj.durable.load(), 1u);
  EXPECT_EQ(b.stats().syncs, 1u);
  EXPECT_EQ(b.stats().requests, 1u);
}

TEST(SyncBatcherTest, EveryCallerReturnsOnlyAfterItsChangeIsDurableAndSyncsAreShared) {
  SyncBatcher b;
  FakeObject obj;
  constexpr int kThreads = 16;
  constexpr int kChangesPerThread = 50;
  std::atomic<int> not_durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChangesPerThread; ++i) {
        uint64_t mine = ++obj.version;  // the change, complete before Sync
        ASSERT_EQ(b.Sync(7, 8, [&] { return obj.Sync(); }), 0);
        if (obj.durable.load() < mine) not_durable++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(not_durable.load(), 0) << "a caller returned before a sync covered its change";
  EXPECT_EQ(obj.overlapping.load(), 0) << "two syncs of one object ran at once";
  auto st = b.stats();
  EXPECT_EQ(st.requests, uint64_t(kThreads * kChangesPerThread));
  EXPECT_LT(st.syncs, st.requests / 2) << "concurrent callers did not share syncs";
}

TEST(SyncBatcherTest, DifferentObjectsAreSyncedSeparately) {
  SyncBatcher b;
  FakeObject a, c;
  a.version = 1;
  c.version = 1;
  std::thread t([&] { EXPECT_EQ(b.Sync(1, 1, [&] { return a.Sync(); }), 0); });
  EXPECT_EQ(b.Sync(1, 2, [&] { return c.Sync(); }), 0);
  t.join();
  EXPECT_EQ(a.durable.load(), 1u);
  EXPECT_EQ(c.durable.load(), 1u);
  EXPECT_EQ(b.stats().syncs, 2u);
}

TEST(SyncBatcherTest, AFailedSyncFailsItsCallersAndTheNextCallTriesAgain) {
  SyncBatcher b;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  auto failing = [&] {
    started++;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return EIO;
  };
  int leader_rc = 0, waiter_rc = 0;
  std::thread leader([&] { leader_rc = b.Sync(3, 4, failing); });
  while (started.load() == 0) std::this_thread::yield();
  std::thread waiter([&] { waiter_rc = b.Sync(3, 4, failing); });
  while (b.stats().requests < 2) std::this_thread::yield();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  leader.join();
  waiter.join();
  EXPECT_EQ(leader_rc, EIO);
  EXPECT_EQ(waiter_rc, EIO) << "a caller whose change the failed sync was to cover succeeded";
  EXPECT_EQ(b.Sync(3, 4, [] { return 0; }), 0) << "the error outlived its callers";
}

}  // namespace
}  // namespace manifold::ds
