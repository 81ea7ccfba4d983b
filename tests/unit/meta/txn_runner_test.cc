// TxnRunner: commits, retries kConflict up to txn_attempts_max from scratch on a fresh
// transaction, never retries other errors, and never publishes the work of a failed attempt.
#include "meta/txn_runner.h"

#include <gtest/gtest.h>

#include "faulty_kv.h"
#include "meta/rocks_kv.h"
#include "test_util.h"

namespace manifold::meta {
namespace {

using testing::FaultyKv;
using testing::FaultyKvOptions;
using testing::TempDir;

// Every attempt of `fn` bumps a counter key; the committed value tells how many attempts'
// writes were published (must be exactly one per successful Run).
class TxnRunnerTest : public ::testing::Test {
 protected:
  void Open(const FaultyKvOptions& faults, uint32_t attempts_max) {
    runner_.reset();
    kv_.reset();
    RocksKvOptions o;
    o.sync_commits = false;
    Result<std::unique_ptr<RocksKv>> rocks = RocksKv::Open(dir_.path(), o);
    ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
    kv_ = std::make_unique<FaultyKv>(std::move(*rocks), faults);
    TxnRunnerOptions ro;
    ro.txn_attempts_max = attempts_max;
    ro.retry_backoff_base_us = 1;
    ro.retry_backoff_max_us = 10;
    runner_ = std::make_unique<TxnRunner>(kv_.get(), ro);
  }
  Result<uint64_t> Increment(int* calls) {
    return runner_->Run([&](Txn& txn) -> Result<uint64_t> {
      (*calls)++;
      uint64_t v = 0;
      Result<std::string> cur = txn.GetForUpdate(Cf::kSys, "counter");
      if (cur.ok()) v = std::stoull(*cur);
      if (!cur.ok() && cur.status().code() != Code::kNotFound) return cur.status();
      Status s = txn.Put(Cf::kSys, "counter", std::to_string(v + 1));
      if (!s.ok()) return s;
      return v + 1;
    });
  }
  uint64_t Committed() {
    Result<std::string> v = kv_->BeginRead()->Get(Cf::kSys, "counter");
    return v.ok() ? std::stoull(*v) : 0;
  }

  TempDir dir_;
  std::unique_ptr<FaultyKv> kv_;
  std::unique_ptr<TxnRunner> runner_;
};

TEST_F(TxnRunnerTest, CommitsOnceWithoutConflicts) {
  Open({}, 4);
  int calls = 0;
  ASSIGN_OR_FAIL(uint64_t v, Increment(&calls));
  EXPECT_EQ(v, 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Committed(), 1u);
  EXPECT_EQ(runner_->stats().commits.load(), 1u);
}

TEST_F(TxnRunnerTest, RetriesInjectedConflictsAndPublishesOneAttempt) {
  const uint64_t seed = testing::TestSeed();
  Open({.commit_conflict_per_mille = 300, .lock_conflict_per_mille = 200, .seed = seed}, 64);
  int calls = 0;
  for (int i = 0; i < 200; i++) ASSERT_OK(Increment(&calls));
  EXPECT_EQ(Committed(), 200u);  // failed attempts left nothing behind
  EXPECT_GT(kv_->injected(), 0u);
  EXPECT_EQ(static_cast<uint64_t>(calls), 200 + runner_->stats().conflicts.load());
}

TEST_F(TxnRunnerTest, GivesUpAfterAttemptsMaxWithConflict) {
  Open({.commit_conflict_per_mille = 1000, .seed = 1}, 5);
  int calls = 0;
  EXPECT_CODE(Increment(&calls), Code::kConflict);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(Committed(), 0u);
  EXPECT_EQ(runner_->stats().gave_up.load(), 1u);
}

TEST_F(TxnRunnerTest, OtherErrorsAreNotRetriedAndNotCommitted) {
  Open({}, 5);
  int calls = 0;
  Status s = runner_->Run([&](Txn& txn) -> Status {
    calls++;
    Status put = txn.Put(Cf::kSys, "counter", "99");
    if (!put.ok()) return put;
    return Status(Code::kExists, "the op decided no");
  });
  EXPECT_CODE(s, Code::kExists);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Committed(), 0u);
}

TEST_F(TxnRunnerTest, ReadRunsOnASnapshotOnce) {
  Open({.commit_conflict_per_mille = 1000, .seed = 1}, 3);  // reads never commit
  int calls = 0;
  Result<int> r = runner_->Read([&](Txn& txn) -> Result<int> {
    calls++;
    EXPECT_CODE(txn.Get(Cf::kSys, "counter"), Code::kNotFound);
    return 7;
  });
  ASSERT_OK(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace manifold::meta
