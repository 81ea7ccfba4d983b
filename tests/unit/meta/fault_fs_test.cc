// Power loss: what was acknowledged must survive losing every byte that was not synced. With
// sync_commits = false the same scenario must lose acknowledged creates, which proves that
// these tests can fail (and that sync = true is what makes the difference).
#include "fault_fs.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::FileArgs;
using testing::PowerLossFs;

// How commits become durable (RocksKvOptions).
enum class Commit { kSyncPerCommit, kEarlyLockRelease, kDeferred };

// Parameter: the commit discipline. "Acknowledged" is what a server may answer for: with
// deferred durability, a change once its durability mark is durable (the MDS's reply gate).
class PowerLossTest : public ::testing::TestWithParam<Commit> {
 protected:
  PowerLossTest()
      : fs_(std::make_shared<PowerLossFs>(rocksdb::FileSystem::Default())),
        env_(rocksdb::NewCompositeEnv(fs_)) {}

  void Open(bool sync) {
    NamespaceOptions o;
    o.kv.sync_commits = sync;
    o.kv.early_lock_release = GetParam() == Commit::kEarlyLockRelease;
    o.kv.defer_durability = GetParam() == Commit::kDeferred;
    o.kv.idle_sync_interval_ms = 60'000;  // only waiters make the syncer sync here
    o.kv.env = env_.get();
    o.kv.on_sync_failure = [this](const Status&) { sync_failures_++; };
    Result<std::unique_ptr<Namespace>> ns = Namespace::Open(dir_.path(), o);
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
  }
  // What the MDS does before it answers: waits until everything visible now is durable.
  void Acknowledge() { ASSERT_OK(ns_->WaitDurable(ns_->DurabilityMark())); }
  // The power cut, then a reopen of what the disk kept (synced, so the reopen itself is not
  // the thing under test).
  uint64_t CrashAndReopen() {
    fs_->SetActive(false);
    ns_.reset();
    uint64_t dropped = fs_->DropUnsyncedData();
    fs_->SetActive(true);
    Open(/*sync=*/true);
    return dropped;
  }
  std::set<std::string> Present(FileId dir) {
    std::set<std::string> names;
    Result<std::vector<DirEntry>> all = testing::ListAll(*ns_, dir);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    if (all.ok())
      for (const DirEntry& e : *all) names.insert(e.name);
    return names;
  }
  void ExpectFsckClean() {
    Result<FsckCounts> c = ns_->Check(testing::kFsckInodesMax);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
  }

  testing::TempDir dir_;
  std::shared_ptr<PowerLossFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<Namespace> ns_;
  std::atomic<int> sync_failures_{0};  // RocksKvOptions::on_sync_failure calls
};

// Creates, renames and removes, all acknowledged, then the power cut.
std::set<std::string> AcknowledgedWorkload(Namespace& ns) {
  std::set<std::string> expect;
  for (int i = 0; i < 40; i++) {
    std::string name = "f" + std::to_string(i);
    if (!ns.Create(kRootFileId, name, FileArgs()).ok()) return {};
    if (!ns.WaitDurable(ns.DurabilityMark()).ok()) return {};
    expect.insert(name);
  }
  for (int i = 0; i < 10; i++) {
    std::string from = "f" + std::to_string(i), to = "r" + std::to_string(i);
    if (!ns.Rename(kRootFileId, from, kRootFileId, to).ok()) return {};
    if (!ns.WaitDurable(ns.DurabilityMark()).ok()) return {};
    expect.erase(from);
    expect.insert(to);
  }
  for (int i = 10; i < 15; i++) {
    std::string name = "f" + std::to_string(i);
    if (!ns.Remove(kRootFileId, name).ok()) return {};
    if (!ns.WaitDurable(ns.DurabilityMark()).ok()) return {};
    expect.erase(name);
  }
  return expect;
}

TEST_P(PowerLossTest, AcknowledgedOpsSurviveLosingUnsyncedData) {
  Open(/*sync=*/true);
  std::set<std::string> expect = AcknowledgedWorkload(*ns_);
  ASSERT_EQ(expect.size(), 35u);
  CrashAndReopen();
  EXPECT_EQ(Present(kRootFileId), expect);
  ExpectFsckClean();
}

TEST_P(PowerLossTest, WithoutSyncAcknowledgedOpsAreLost) {
  Open(/*sync=*/false);
  std::set<std::string> expect = AcknowledgedWorkload(*ns_);
  ASSERT_EQ(expect.size(), 35u);
  uint64_t dropped = CrashAndReopen();
  std::set<std::string> present = Present(kRootFileId);
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(present.size(), expect.size()) << "unsynced commits survived a power cut: the "
                                              "fault model is not dropping anything";
  std::fprintf(
      stderr, "[ figures  ] sync off: %zu of %zu acknowledged names lost, %llu bytes dropped\n",
      expect.size() - present.size(), expect.size(), static_cast<unsigned long long>(dropped));
}

// Xattrs are mutations like any other: what SETXATTR and REMOVEXATTR acknowledged is there
// after the cut, and the file's xattrs go with its acknowledged removal.
TEST_P(PowerLossTest, AcknowledgedXattrChangesSurviveLosingUnsyncedData) {
  Open(/*sync=*/true);
  ASSIGN_OR_FAIL(CreateResult kept, ns_->Create(kRootFileId, "kept", FileArgs()));
  ASSIGN_OR_FAIL(CreateResult gone, ns_->Create(kRootFileId, "gone", FileArgs()));
  for (int i = 0; i < 20; i++) {
    const std::string name = "user." + std::to_string(i);
    ASSERT_OK(ns_->SetXattr(kept.inode.fileid, name, "v" + std::to_string(i),
                            XattrSetMode::kCreate));
    ASSERT_OK(ns_->SetXattr(gone.inode.fileid, name, "v", XattrSetMode::kCreate));
  }
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(ns_->RemoveXattr(kept.inode.fileid, "user." + std::to_string(i)));
  }
  ASSERT_OK(ns_->SetXattr(kept.inode.fileid, "user.19", "replaced", XattrSetMode::kReplace));
  ASSERT_OK(ns_->Remove(kRootFileId, "gone"));
  Acknowledge();
  CrashAndReopen();
  ASSIGN_OR_FAIL(XattrListResult list, ns_->ListXattrs(kept.inode.fileid, 0, 100));
  EXPECT_EQ(list.names.size(), 15u);
  EXPECT_CODE(ns_->GetXattr(kept.inode.fileid, "user.4"), Code::kNotFound);
  ASSIGN_OR_FAIL(std::string v, ns_->GetXattr(kept.inode.fileid, "user.19"));
  EXPECT_EQ(v, "replaced");
  EXPECT_CODE(ns_->ListXattrs(gone.inode.fileid, 0, 100), Code::kStale);
  ExpectFsckClean();
}

// A file removed while open is an orphan: the acknowledged orphaning keeps its inode and
// extents through the cut, and an acknowledged purge of another orphan stays done.
TEST_P(PowerLossTest, AcknowledgedOrphansSurviveLosingUnsyncedData) {
  Open(/*sync=*/true);
  const KeepOrphan open = [](FileId) { return true; };
  ASSIGN_OR_FAIL(CreateResult kept, ns_->Create(kRootFileId, "kept", FileArgs()));
  ASSIGN_OR_FAIL(CreateResult gone, ns_->Create(kRootFileId, "gone", FileArgs()));
  for (const CreateResult* f : {&kept, &gone}) {
    Extent e{f->inode.fileid, 0, {{1, "fh", InstanceState::kValid, 0, 0, 1}}};
    ASSERT_OK(ns_->PutExtent(e));
  }
  ASSERT_OK(ns_->Remove(kRootFileId, "kept", open));
  ASSERT_OK(ns_->Remove(kRootFileId, "gone", open));
  ASSIGN_OR_FAIL(Unlinked purged, ns_->PurgeOrphan(gone.inode.fileid));
  ASSERT_TRUE(purged.dropped);
  Acknowledge();
  CrashAndReopen();
  ASSIGN_OR_FAIL(Inode orphan, ns_->GetInode(kept.inode.fileid));
  EXPECT_EQ(orphan.nlink, 0u);
  ASSIGN_OR_FAIL(std::vector<Extent> extents, ns_->GetExtents(kept.inode.fileid));
  EXPECT_EQ(extents.size(), 1u);
  ASSIGN_OR_FAIL(std::vector<OrphanRecord> orphans, ns_->ListOrphans(0, 10));
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].fileid, kept.inode.fileid);
  EXPECT_CODE(ns_->GetInode(gone.inode.fileid), Code::kStale);
  EXPECT_TRUE(Present(kRootFileId).empty());
  ExpectFsckClean();
}

// The cut lands at a random moment while a writer thread creates files: every acknowledged
// create is there, plus at most the one in flight. Several cuts on the same store.
TEST_P(PowerLossTest, CutAtARandomMomentKeepsEveryAcknowledgedCreate) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  Open(/*sync=*/true);
  std::set<std::string> acked;
  for (int cut = 0; cut < 3; cut++) {
    std::atomic<bool> stop{false};
    std::string in_flight;
    std::thread writer([&] {
      for (int i = 0; !stop; i++) {
        std::string name = "c" + std::to_string(cut) + "-" + std::to_string(i);
        in_flight = name;
        if (!ns_->Create(kRootFileId, name, FileArgs()).ok()) return;  // power is off
        if (!ns_->WaitDurable(ns_->DurabilityMark()).ok()) return;
        acked.insert(name);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    fs_->SetActive(false);
    stop = true;
    writer.join();
    uint64_t dropped = CrashAndReopen();
    std::set<std::string> present = Present(kRootFileId);
    for (const std::string& name : acked)
      EXPECT_TRUE(present.count(name)) << name << " seed " << seed;
    for (const std::string& name : present) {
      EXPECT_TRUE(acked.count(name) || name == in_flight) << name << " seed " << seed;
    }
    if (present.count(in_flight)) acked.insert(in_flight);
    std::fprintf(stderr, "[ figures  ] cut %d: %zu acknowledged, %llu unsynced bytes dropped\n",
                 cut, acked.size(), static_cast<unsigned long long>(dropped));
    ExpectFsckClean();
  }
}

// Early lock release makes a commit visible before it is durable. A reader that sees it must not
// get its answer before the commit is durable, or a power cut right after the answer would take
// back what the reader was told. The disk is slow here (every sync sleeps 300 ms first), the
// reader cuts the power the moment it sees the file, and the file must still be there. Without
// the WaitDurable guard in TxnRunner this test fails (the cut lands inside the writer's sync).
TEST_P(PowerLossTest, NothingReadIsTakenBackByAPowerCut) {
  Open(/*sync=*/true);
  fs_->set_sync_delay_ms(300);
  std::thread writer([&] { (void)ns_->Create(kRootFileId, "seen", FileArgs()); });
  for (;;) {
    if (ns_->Lookup(kRootFileId, "seen").ok()) break;  // the reader's answer: it exists
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Acknowledge();  // deferred durability: the reply gate holds the reader's answer until here
  fs_->SetActive(false);  // power cut right after the answer
  writer.join();
  fs_->set_sync_delay_ms(0);
  CrashAndReopen();
  EXPECT_TRUE(Present(kRootFileId).count("seen")) << "a reader was told about a file that a "
                                                     "power cut then took back";
}

// A failed WAL sync is final. The commits after the last good sync are visible in memory; a
// failed fsync may have dropped their pages, so a later sync that succeeds proves nothing about
// them: no answer may rest on them (and with early lock release, a creator told of the failure
// must not see another client told of the file).
TEST_P(PowerLossTest, AfterAFailedWalSyncNothingLaterIsReportedDurable) {
  if (GetParam() == Commit::kSyncPerCommit) {
    GTEST_SKIP() << "a commit is synced before it is visible: a failed one is not there";
  }
  Open(/*sync=*/true);
  ASSERT_OK(ns_->Create(kRootFileId, "before", FileArgs()).status());
  Acknowledge();
  fs_->SetActive(false);  // the disk fails
  Status made = ns_->Create(kRootFileId, "during", FileArgs()).status();
  if (GetParam() == Commit::kEarlyLockRelease) {
    EXPECT_FALSE(made.ok()) << "its sync failed";
  } else {
    EXPECT_OK(made);  // deferred: written unsynced; the answer waits for the sync
    EXPECT_FALSE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  }
  fs_->SetActive(true);  // the disk answers again
  if (GetParam() == Commit::kEarlyLockRelease) {
    // A read waits for a sync covering what it saw (TxnRunner): that sync must fail.
    EXPECT_FALSE(ns_->Lookup(kRootFileId, "during").ok())
        << "a reader was answered with a file whose create failed";
  } else {
    EXPECT_FALSE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  }
  EXPECT_FALSE(ns_->Create(kRootFileId, "after", FileArgs()).ok() &&
               ns_->WaitDurable(ns_->DurabilityMark()).ok())
      << "a change after the failed sync was reported durable";
  if (GetParam() == Commit::kDeferred) {
    // The WAL is buffered (manual flush): the commit was written and its sync is what failed.
    EXPECT_EQ(sync_failures_.load(), 1) << "on_sync_failure runs once, at the first failure";
  } else {
    // Early lock release writes the WAL at commit: with the disk off that write fails first.
    EXPECT_LE(sync_failures_.load(), 1);
  }
}

// Deferred durability: a commit returns before it is synced, so until its mark is durable a
// power cut takes it back; once WhenDurable has answered, it stays. (This is why the MDS holds
// every reply until then.)
TEST(DeferredDurabilityTest, ACommitIsKeptOnlyOnceItsMarkIsDurable) {
  testing::TempDir dir;
  auto fs = std::make_shared<PowerLossFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env(rocksdb::NewCompositeEnv(fs));
  NamespaceOptions o;
  o.kv.defer_durability = true;
  o.kv.idle_sync_interval_ms = 60'000;
  o.kv.env = env.get();
  auto open = [&]() {
    Result<std::unique_ptr<Namespace>> ns = Namespace::Open(dir.path(), o);
    EXPECT_TRUE(ns.ok()) << ns.status().ToString();
    return ns.ok() ? std::move(*ns) : nullptr;
  };
  auto cut = [&](std::unique_ptr<Namespace>& ns) {
    fs->SetActive(false);
    ns.reset();
    fs->DropUnsyncedData();
    fs->SetActive(true);
    ns = open();
  };
  std::unique_ptr<Namespace> ns = open();
  ASSERT_TRUE(ns);
  ASSERT_TRUE(ns->DefersDurability());
  // Opening synced the format; now a create that nobody waits for.
  ASSERT_OK(ns->Create(kRootFileId, "unacked", FileArgs()).status());
  const uint64_t mark = ns->DurabilityMark();
  EXPECT_FALSE(ns->IsDurable(mark));
  cut(ns);
  ASSERT_TRUE(ns);
  EXPECT_CODE(ns->Lookup(kRootFileId, "unacked"), Code::kNotFound);

  ASSERT_OK(ns->Create(kRootFileId, "acked", FileArgs()).status());
  std::promise<Status> answered;
  ns->WhenDurable(ns->DurabilityMark(), [&](Status s) { answered.set_value(s); });
  ASSERT_OK(answered.get_future().get());
  // Data released in a callback runs after the sync; Quiesce waits for every callback so far.
  std::atomic<int> ran{0};
  ASSERT_OK(ns->Create(kRootFileId, "later", FileArgs()).status());
  ns->WhenDurable(ns->DurabilityMark(), [&](Status s) { ran += s.ok() ? 1 : 100; });
  ns->QuiesceDurabilityCallbacks();
  EXPECT_EQ(ran.load(), 1);
  cut(ns);
  ASSERT_TRUE(ns);
  EXPECT_TRUE(ns->Lookup(kRootFileId, "acked").ok());
  EXPECT_TRUE(ns->Lookup(kRootFileId, "later").ok());
}

INSTANTIATE_TEST_SUITE_P(Durability, PowerLossTest,
                         ::testing::Values(Commit::kSyncPerCommit, Commit::kEarlyLockRelease,
                                           Commit::kDeferred),
                         [](const ::testing::TestParamInfo<Commit>& info) {
                           switch (info.param) {
                             case Commit::kSyncPerCommit: return "SyncPerCommit";
                             case Commit::kEarlyLockRelease: return "EarlyLockRelease";
                             case Commit::kDeferred: return "Deferred";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace manifold::meta
