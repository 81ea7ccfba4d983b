// Change marks (meta/change_marks.h): with deferred durability a read is covered by the last
// change to what it read, not by every change before it, and never by less than that.
#include "meta/change_marks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "meta/namespace.h"
#include "meta/rocks_kv.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::DirArgs;
using testing::FileArgs;

TEST(ChangeMarksTest, KeysOfOneObjectShareASlotAndUnkeyedFamiliesHaveNone) {
  const uint32_t dir = ChangeMarks::SlotOf(Cf::kInodes, InodeKey(42));
  EXPECT_NE(dir, ChangeMarks::kNoSlot);
  EXPECT_LT(dir, kChangeMarkSlots);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kDirents, DirentKey(42, "a")), dir);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kDirCookies, DirCookieKey(42, 7)), dir);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kXattrs, XattrKey(42, "user.x")), dir);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kExtents, ExtentKey(42, 3)), dir);
  EXPECT_NE(ChangeMarks::SlotOf(Cf::kInodes, InodeKey(43)), dir);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kVolumes, VolumeKey(42)), ChangeMarks::kNoSlot);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kClients, ClientKey("owner-of-eight+")), ChangeMarks::kNoSlot);
  EXPECT_EQ(ChangeMarks::SlotOf(Cf::kDirents, "short"), ChangeMarks::kNoSlot);
}

TEST(ChangeMarksTest, ARangeHasASlotOnlyWithinOneObject) {
  const uint32_t dir = ChangeMarks::SlotOf(Cf::kInodes, InodeKey(42));
  // What NewPrefixIterator and a READDIR from a cookie ask for.
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kDirents, DirentPrefix(42),
                                     PrefixSuccessor(DirentPrefix(42))),
            dir);
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kDirCookies, DirCookieKey(42, 9),
                                     PrefixSuccessor(DirentPrefix(42))),
            dir);
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kDirents, DirentKey(42, "a"), DirentKey(42, "m")), dir);
  // Across objects, to the end of the family, or from the start: no one slot covers it.
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kDirents, DirentPrefix(42), DirentPrefix(44)),
            ChangeMarks::kNoSlot);
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kDirents, DirentPrefix(42), ""), ChangeMarks::kNoSlot);
  EXPECT_EQ(ChangeMarks::SlotOfRange(Cf::kOrphans, "", OrphanKey(5)), ChangeMarks::kNoSlot);
}

TEST(ChangeMarksTest, APendingChangeMakesAReadWaitForEverythingAndAnEndedOneForItself) {
  ChangeMarks marks;
  const uint32_t slot = ChangeMarks::SlotOf(Cf::kInodes, InodeKey(42));
  EXPECT_EQ(marks.MarkOf(slot), 0u);
  marks.BeginChange(slot);
  marks.BeginChange(slot);  // two writers of one object
  EXPECT_EQ(marks.MarkOf(slot), ChangeMarks::kEverything);
  marks.EndChange(slot, 90);
  EXPECT_EQ(marks.MarkOf(slot), ChangeMarks::kEverything);  // the other is still pending
  marks.EndChange(slot, 0);                  // rolled back
  EXPECT_EQ(marks.MarkOf(slot), 90u);
  marks.BeginChange(slot);
  marks.EndChange(slot, 80);  // an older sequence number never lowers the mark
  EXPECT_EQ(marks.MarkOf(slot), 90u);
  EXPECT_EQ(marks.MarkOf(ChangeMarks::kNoSlot), ChangeMarks::kEverything);
}

TEST(ChangeMarksTest, ConcurrentWritersLeaveTheHighestSequenceNumberAndNothingPending) {
  ChangeMarks marks;
  const uint32_t slot = 7;
  std::vector<std::thread> writers;
  for (uint64_t t = 0; t < 4; ++t) {
    writers.emplace_back([&marks, t] {
      for (uint64_t i = 1; i <= 10000; ++i) {
        marks.BeginChange(slot);
        marks.EndChange(slot, i * 4 + t);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(marks.MarkOf(slot), 10000u * 4 + 3);
}

TEST(ReadMarksTest, TheInnermostOpenOneIsRaisedAndRaisesTheOuterWhenItCloses) {
  EXPECT_FALSE(ReadMarks::Open());
  ReadMarks::Note(5);  // none open: nothing to raise
  ReadMarks outer;
  ReadMarks::Note(5);
  {
    ReadMarks inner;
    ReadMarks::Note(9);
    EXPECT_EQ(inner.mark(), 9u);
    EXPECT_EQ(outer.mark(), 5u);
  }
  EXPECT_EQ(outer.mark(), 9u);  // what was read inside counts for the outer answer too
  ReadMarks::Note(3);
  EXPECT_EQ(outer.mark(), 9u);
  EXPECT_TRUE(ReadMarks::Open());
}

// A namespace whose commits are deferred and synced only when someone waits.
class ReadMarksNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NamespaceOptions o;
    o.kv.defer_durability = true;
    o.kv.idle_sync_interval_ms = 60'000;
    Result<std::unique_ptr<Namespace>> ns = Namespace::Open(dir_.path(), o);
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
    ASSERT_TRUE(ns_->TracksReadMarks());
  }
  FileId Make(FileId parent, std::string_view name, const CreateArgs& args) {
    Result<CreateResult> r = ns_->Create(parent, name, args);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->inode.fileid : 0;
  }
  void SyncAll() { ASSERT_OK(ns_->WaitDurable(ns_->DurabilityMark())); }

  testing::TempDir dir_;
  std::unique_ptr<Namespace> ns_;
};

TEST_F(ReadMarksNamespaceTest, ReadsOfObjectsNotChangedSinceTheSyncAreDurable) {
  const FileId quiet = Make(kRootFileId, "quiet", DirArgs());
  const FileId busy = Make(kRootFileId, "busy", DirArgs());
  const FileId old_file = Make(busy, "old", FileArgs());
  SyncAll();
  const FileId fresh = Make(busy, "fresh", FileArgs());  // not durable: nobody waited
  const uint64_t all = ns_->DurabilityMark();
  ASSERT_FALSE(ns_->IsDurable(all));

  auto mark_of = [&](auto&& read) {
    ReadMarks reads;
    read();
    return reads.mark();
  };
  // What was not changed since the sync: at once, though the store as a whole is not durable.
  EXPECT_TRUE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->GetInode(quiet).status()); })));
  EXPECT_TRUE(ns_->IsDurable(
      mark_of([&] { EXPECT_CODE(ns_->Lookup(quiet, "absent"), Code::kNotFound); })));
  EXPECT_TRUE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->GetInode(old_file).status()); })));
  EXPECT_TRUE(ns_->IsDurable(mark_of([&] { ASSERT_OK(testing::ListAll(*ns_, quiet).status()); })));
  // What the unsynced create changed: the new file, its directory, names and listings there.
  EXPECT_FALSE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->GetInode(fresh).status()); })));
  EXPECT_FALSE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->GetInode(busy).status()); })));
  EXPECT_FALSE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->Lookup(busy, "fresh").status()); })));
  EXPECT_FALSE(ns_->IsDurable(
      mark_of([&] { EXPECT_CODE(ns_->Lookup(busy, "absent"), Code::kNotFound); })));
  EXPECT_FALSE(ns_->IsDurable(mark_of([&] { ASSERT_OK(testing::ListAll(*ns_, busy).status()); })));
  // No read rests on more than the store's mark.
  EXPECT_LE(mark_of([&] { ASSERT_OK(ns_->GetInode(fresh).status()); }), ns_->DurabilityMark());

  SyncAll();
  EXPECT_TRUE(ns_->IsDurable(mark_of([&] { ASSERT_OK(ns_->GetInode(fresh).status()); })));
}

// A store whose commits are deferred and synced only when someone waits.
std::unique_ptr<RocksKv> OpenUnsyncedKv(const testing::TempDir& dir) {
  RocksKvOptions o;
  o.defer_durability = true;
  o.idle_sync_interval_ms = 60'000;
  Result<std::unique_ptr<RocksKv>> opened = RocksKv::Open(dir.path(), o);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(*opened) : nullptr;
}

TEST(ReadMarksKvTest, AReadOfAnObjectWithAChangeUnderWayRestsOnEverythingVisible) {
  testing::TempDir dir;
  std::unique_ptr<RocksKv> opened = OpenUnsyncedKv(dir);
  ASSERT_TRUE(opened);
  RocksKv& kv = *opened;
  ASSERT_TRUE(kv.TracksReadMarks());
  auto put = [&](FileId id) {
    std::unique_ptr<Txn> t = kv.BeginTxn();
    ASSERT_OK(t->Put(Cf::kInodes, InodeKey(id), "v"));
    ASSERT_OK(t->Commit());
  };
  auto mark_of_read = [&](FileId id) {
    ReadMarks reads;
    std::unique_ptr<Txn> r = kv.BeginRead();
    EXPECT_TRUE(r->Get(Cf::kInodes, InodeKey(id)).ok());
    return reads.mark();
  };
  put(10);
  put(11);
  ASSERT_OK(kv.WaitDurableUpTo(kv.DurabilityMark()));
  const uint64_t synced = kv.DurabilityMark();

  // A write of 10 not yet committed, then a commit elsewhere that nobody syncs.
  std::unique_ptr<Txn> under_way = kv.BeginTxn();
  ASSERT_OK(under_way->Put(Cf::kInodes, InodeKey(10), "v2"));
  put(12);
  ASSERT_GT(kv.DurabilityMark(), synced);
  // 10 may change at any moment: a read of it rests on everything visible. 11 did not change.
  EXPECT_EQ(mark_of_read(10), kv.DurabilityMark());
  EXPECT_LE(mark_of_read(11), synced);
  under_way->Rollback();
  // Rolled back: no longer under way (the slot keeps what was visible at the rollback, which
  // only ever makes a read wait longer).
  EXPECT_LE(mark_of_read(10), kv.DurabilityMark());
  EXPECT_LE(mark_of_read(11), synced);

  // Committed: a read of 10 rests on that commit, which is past everything before it.
  std::unique_ptr<Txn> again = kv.BeginTxn();
  ASSERT_OK(again->Put(Cf::kInodes, InodeKey(10), "v3"));
  ASSERT_OK(again->Commit());
  EXPECT_EQ(mark_of_read(10), kv.DurabilityMark());
  EXPECT_FALSE(kv.IsDurable(mark_of_read(10)));
  // A read not in a ReadMarks, or of a family with no slots, raises nothing / everything.
  {
    ReadMarks reads;
    std::unique_ptr<Txn> r = kv.BeginRead();
    EXPECT_CODE(r->Get(Cf::kVolumes, VolumeKey(1)), Code::kNotFound);
    EXPECT_EQ(reads.mark(), kv.DurabilityMark());
  }
}

// The ordering argument under load: writers commit new values of a few objects while readers
// (snapshot reads and read-write transactions) read them; a reader that saw a value must hold
// a mark at or past the commit that wrote it. (It fails if EndChange drops the pending count
// before it stores the sequence number.)
TEST(ReadMarksKvTest, AReaderThatSawACommitRestsOnIt) {
  testing::TempDir dir;
  std::unique_ptr<RocksKv> opened = OpenUnsyncedKv(dir);
  ASSERT_TRUE(opened);
  RocksKv& kv = *opened;
  constexpr int kObjects = 4;
  constexpr int kValues = 20000;
  // at_least[k][i]: a sequence number the commit of value i of object k is at or past.
  std::vector<std::vector<std::atomic<uint64_t>>> at_least(kObjects);
  for (auto& v : at_least) v = std::vector<std::atomic<uint64_t>>(kValues + 1);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0}, violations{0};
  std::vector<std::thread> writers;
  for (int k = 0; k < kObjects; ++k) {
    writers.emplace_back([&, k] {
      for (int i = 1; i <= kValues; ++i) {
        std::unique_ptr<Txn> t = kv.BeginTxn();
        EXPECT_TRUE(t->Put(Cf::kInodes, InodeKey(100 + k), std::to_string(i)).ok());
        at_least[k][i] = kv.DurabilityMark() + 1;
        EXPECT_TRUE(t->Commit().ok());
      }
    });
  }
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (!stop) {
        for (int k = 0; k < kObjects; ++k) {
          ReadMarks reads;
          std::unique_ptr<Txn> t = r == 0 ? kv.BeginRead() : kv.BeginTxn();
          Result<std::string> v = t->Get(Cf::kInodes, InodeKey(100 + k));
          if (!v.ok()) continue;
          checks++;
          if (reads.mark() < at_least[k][std::stoi(*v)]) violations++;
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  stop = true;
  for (std::thread& r : readers) r.join();
  EXPECT_GT(checks.load(), 0u);
  EXPECT_EQ(violations.load(), 0u);
}

}  // namespace
}  // namespace manifold::meta
