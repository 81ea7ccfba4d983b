// RocksKv against the Kv contract of kv.h: reads see own writes, iterators respect bounds and
// column families, snapshots are stable, locks turn contention into kConflict, commits are
// all-or-nothing and survive a reopen.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "meta/rocks_kv.h"
#include "test_util.h"

namespace manifold::meta {
namespace {

using testing::TempDir;

class RocksKvTest : public ::testing::Test {
 protected:
  void Open(int64_t lock_timeout_ms = 1000) {
    kv_.reset();
    RocksKvOptions o;
    o.sync_commits = false;
    o.lock_timeout_ms = lock_timeout_ms;
    Result<std::unique_ptr<RocksKv>> kv = RocksKv::Open(dir_.path(), o);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(*kv);
  }
  void SetUp() override { Open(); }
  void PutCommitted(Cf cf, const std::string& k, const std::string& v) {
    auto txn = kv_->BeginTxn();
    ASSERT_OK(txn->Put(cf, k, v));
    ASSERT_OK(txn->Commit());
  }
  std::vector<std::string> Keys(Txn& txn, Cf cf, std::string lo, std::string hi) {
    std::vector<std::string> keys;
    auto it = txn.NewIterator(cf, std::move(lo), std::move(hi));
    for (; it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_OK(it->status());
    return keys;
  }

  TempDir dir_;
  std::unique_ptr<RocksKv> kv_;
};

TEST_F(RocksKvTest, GetPutDeleteAndColumnFamiliesAreSeparate) {
  PutCommitted(Cf::kInodes, "k", "inode");
  PutCommitted(Cf::kDirents, "k", "dirent");
  auto txn = kv_->BeginTxn();
  ASSIGN_OR_FAIL(std::string a, txn->Get(Cf::kInodes, "k"));
  ASSIGN_OR_FAIL(std::string b, txn->Get(Cf::kDirents, "k"));
  EXPECT_EQ(a, "inode");
  EXPECT_EQ(b, "dirent");
  EXPECT_CODE(txn->Get(Cf::kSys, "k"), Code::kNotFound);
  ASSERT_OK(txn->Delete(Cf::kInodes, "k"));
  EXPECT_CODE(txn->Get(Cf::kInodes, "k"), Code::kNotFound);  // own delete visible
  ASSERT_OK(txn->Commit());
  auto read = kv_->BeginRead();
  EXPECT_CODE(read->Get(Cf::kInodes, "k"), Code::kNotFound);
  EXPECT_OK(read->Get(Cf::kDirents, "k"));
}

TEST_F(RocksKvTest, IteratorHonoursBoundsAndSeesOwnWrites) {
  for (const char* k : {"a", "b1", "b2", "b3", "c"}) PutCommitted(Cf::kDirents, k, "v");
  auto txn = kv_->BeginTxn();
  ASSERT_OK(txn->Put(Cf::kDirents, "b25", "mine"));
  ASSERT_OK(txn->Put(Cf::kDirents, "bz", "mine, past the bound"));
  ASSERT_OK(txn->Delete(Cf::kDirents, "b1"));
  EXPECT_EQ(Keys(*txn, Cf::kDirents, "b", "b3"), (std::vector<std::string>{"b2", "b25"}));
  EXPECT_EQ(Keys(*txn, Cf::kDirents, "b", "c").size(), 4u);  // b2 b25 b3 bz
  EXPECT_EQ(Keys(*txn, Cf::kDirents, "", "").size(), 6u);
  auto it = NewPrefixIterator(*txn, Cf::kDirents, "b2");
  std::vector<std::string> prefixed;
  for (; it->Valid(); it->Next()) prefixed.emplace_back(it->key());
  EXPECT_EQ(prefixed, (std::vector<std::string>{"b2", "b25"}));
  EXPECT_TRUE(Keys(*txn, Cf::kInodes, "", "").empty());
}

TEST_F(RocksKvTest, ReadSnapshotIgnoresLaterCommits) {
  PutCommitted(Cf::kInodes, "k", "old");
  auto snapshot = kv_->BeginRead();
  PutCommitted(Cf::kInodes, "k", "new");
  PutCommitted(Cf::kInodes, "k2", "new");
  ASSIGN_OR_FAIL(std::string v, snapshot->Get(Cf::kInodes, "k"));
  EXPECT_EQ(v, "old");
  EXPECT_EQ(Keys(*snapshot, Cf::kInodes, "", "").size(), 1u);
  EXPECT_CODE(snapshot->Put(Cf::kInodes, "x", "y"), Code::kInternal);
  EXPECT_OK(snapshot->Commit());
}

TEST_F(RocksKvTest, UncommittedWritesAreInvisibleAndRolledBack) {
  auto txn = kv_->BeginTxn();
  ASSERT_OK(txn->Put(Cf::kInodes, "k", "v"));
  EXPECT_CODE(kv_->BeginRead()->Get(Cf::kInodes, "k"), Code::kNotFound);
  txn->Rollback();
  EXPECT_CODE(kv_->BeginRead()->Get(Cf::kInodes, "k"), Code::kNotFound);
  {
    auto dropped = kv_->BeginTxn();
    ASSERT_OK(dropped->Put(Cf::kInodes, "k2", "v"));
  }
  EXPECT_CODE(kv_->BeginRead()->Get(Cf::kInodes, "k2"), Code::kNotFound);
}

TEST_F(RocksKvTest, LockedKeyTimesOutAsConflictThenFrees) {
  Open(/*lock_timeout_ms=*/50);
  PutCommitted(Cf::kInodes, "k", "v");
  auto a = kv_->BeginTxn();
  ASSERT_OK(a->GetForUpdate(Cf::kInodes, "k"));
  auto b = kv_->BeginTxn();
  EXPECT_CODE(b->GetForUpdate(Cf::kInodes, "k"), Code::kConflict);
  EXPECT_CODE(b->Put(Cf::kInodes, "k", "b"), Code::kConflict);
  // An absent key is lockable too: two creators of one name serialize.
  EXPECT_CODE(a->GetForUpdate(Cf::kDirents, "new-name"), Code::kNotFound);
  EXPECT_CODE(b->GetForUpdate(Cf::kDirents, "new-name"), Code::kConflict);
  ASSERT_OK(a->Put(Cf::kInodes, "k", "a"));
  ASSERT_OK(a->Commit());
  auto c = kv_->BeginTxn();
  ASSIGN_OR_FAIL(std::string v, c->GetForUpdate(Cf::kInodes, "k"));
  EXPECT_EQ(v, "a");
}

TEST_F(RocksKvTest, DeadlockIsDetectedAndReportedAsConflict) {
  Open(/*lock_timeout_ms=*/5000);
  PutCommitted(Cf::kInodes, "1", "v");
  PutCommitted(Cf::kInodes, "2", "v");
  auto a = kv_->BeginTxn();
  auto b = kv_->BeginTxn();
  ASSERT_OK(a->GetForUpdate(Cf::kInodes, "1"));
  ASSERT_OK(b->GetForUpdate(Cf::kInodes, "2"));
  // a waits for b's key in another thread; b then asks for a's key: a cycle.
  auto a_wait =
      std::async(std::launch::async, [&] { return a->GetForUpdate(Cf::kInodes, "2").status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Status b_status = b->GetForUpdate(Cf::kInodes, "1").status();
  if (!b_status.ok()) {
    EXPECT_CODE(b_status, Code::kConflict);
    b->Rollback();  // frees "2" for a
  }
  Status a_status = a_wait.get();
  if (b_status.ok()) {
    EXPECT_CODE(a_status, Code::kConflict);  // the detector picked a instead
  } else {
    EXPECT_OK(a_status);
  }
}

TEST_F(RocksKvTest, CommittedDataSurvivesReopen) {
  PutCommitted(Cf::kVolumes, "v", "1");
  auto pending = kv_->BeginTxn();
  ASSERT_OK(pending->Put(Cf::kVolumes, "w", "never committed"));
  pending.reset();
  ASSERT_OK(kv_->Flush());
  PutCommitted(Cf::kVolumes, "x", "after flush");
  Open();
  auto read = kv_->BeginRead();
  EXPECT_OK(read->Get(Cf::kVolumes, "v"));
  EXPECT_OK(read->Get(Cf::kVolumes, "x"));
  EXPECT_CODE(read->Get(Cf::kVolumes, "w"), Code::kNotFound);
}

// The WAL is bounded: a family written once (and never again) does not keep every later WAL
// file alive while another family takes many writes.
TEST(RocksKvBoundsTest, WalFilesStayNearTheirBound) {
  TempDir dir;
  RocksKvOptions o;
  o.sync_commits = false;
  o.wal_bytes_max = 1u << 20;
  o.memtable_bytes_max = 64u << 20;  // large: only the WAL bound can force the flushes
  auto kv = RocksKv::Open(dir.path(), o);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  {
    auto txn = (*kv)->BeginTxn();
    ASSERT_OK(txn->Put(Cf::kSys, "once", "x"));
    ASSERT_OK(txn->Commit());
  }
  const std::string value(1024, 'v');
  for (int i = 0; i < 16 * 1024; ++i) {  // 16 MiB of values
    auto txn = (*kv)->BeginTxn();
    ASSERT_OK(txn->Put(Cf::kInodes, "k" + std::to_string(i), value));
    ASSERT_OK(txn->Commit());
  }
  // The flushes the bound forces run in the background, and a WAL file goes only when the
  // flush that covers it is done: give the last one time. Unbounded, 16 MiB of WAL would stay.
  auto wal_bytes = [&] {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().extension() == ".log") total += e.file_size();
    }
    return total;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (wal_bytes() >= (4u << 20) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LT(wal_bytes(), 4u << 20) << "WAL files total " << wal_bytes() << " bytes";
}

}  // namespace
}  // namespace manifold::meta
