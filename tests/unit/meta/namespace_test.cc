// Namespace operations one by one: the good path, the POSIX side effects (nlink, change, ctime,
// mtime of parents) and every error code. The fixture runs fsck after each test.
#include <gtest/gtest.h>

#include <set>

#include "meta/limits.h"
#include "meta/rocks_kv.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::DirArgs;
using testing::FileArgs;

class NamespaceTest : public testing::NamespaceFixture {};

// No depth limit on directories (as on a local file system): a directory moved across
// parents at the bottom of a tree 5000 deep is checked against its own subtree like any other,
// and fsck (after each test) walks the chain.
TEST_F(NamespaceTest, DeepTreesRenameAcrossParents) {
  FileId cur = kRootFileId;
  for (int depth = 0; depth < 5000; ++depth) cur = MakeDir(cur, "d");
  FileId a = MakeDir(cur, "a");
  FileId b = MakeDir(cur, "b");
  ASSERT_TRUE(ns_->Rename(cur, "a", b, "a").ok());
  EXPECT_CODE(ns_->Rename(cur, "b", a, "b"), Code::kInvalid);  // b holds a now: b into a is a cycle
}

TEST_F(NamespaceTest, FirstOpenMakesAnEmptyRootThatSurvivesReopen) {
  Inode root = Get(kRootFileId);
  EXPECT_TRUE(root.is_dir());
  EXPECT_EQ(root.nlink, 2u);
  EXPECT_EQ(root.parent, kRootFileId);
  EXPECT_NE(root.generation, 0u);
  EXPECT_TRUE(Names(kRootFileId).empty());
  MakeFile(kRootFileId, "a");
  Reopen();
  EXPECT_EQ(Get(kRootFileId).generation, root.generation);
  EXPECT_EQ(Names(kRootFileId), std::vector<std::string>{"a"});
  ASSIGN_OR_FAIL(Inode parent, ns_->LookupParent(kRootFileId));
  EXPECT_EQ(parent.fileid, kRootFileId);
}

TEST_F(NamespaceTest, OpenRefusesAnotherFormatVersion) {
  ns_.reset();
  {
    RocksKvOptions o;
    o.sync_commits = false;
    ASSIGN_OR_FAIL(std::unique_ptr<RocksKv> kv, RocksKv::Open(dir_.path(), o));
    auto txn = kv->BeginTxn();
    ASSERT_OK(txn->Put(Cf::kSys, kSysFormatVersionKey, EncodeSysU64(kFormatVersion + 1)));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_CODE(Namespace::Open(dir_.path(), Options()), Code::kCorruption);
}

TEST_F(NamespaceTest, CreateFileUpdatesParentAndIsFoundByLookup) {
  Inode before = Get(kRootFileId);
  ASSIGN_OR_FAIL(CreateResult r, ns_->Create(kRootFileId, "f", FileArgs(0600)));
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.inode.type, FileType::kReg);
  EXPECT_EQ(r.inode.mode, 0600u);
  EXPECT_EQ(r.inode.nlink, 1u);
  EXPECT_NE(r.inode.generation, 0u);
  EXPECT_EQ(r.dir.before, before.change);
  Inode after = Get(kRootFileId);
  EXPECT_EQ(r.dir.after, after.change);
  EXPECT_GT(after.change, before.change);
  EXPECT_GT(after.mtime, before.mtime);
  EXPECT_GT(after.ctime, before.ctime);
  EXPECT_EQ(after.size_bytes, 1u);
  EXPECT_EQ(after.nlink, 2u);  // files do not count
  ASSIGN_OR_FAIL(Inode found, ns_->Lookup(kRootFileId, "f"));
  EXPECT_EQ(found, r.inode);
  ASSIGN_OR_FAIL(Inode attrs, ns_->GetAttr(r.inode.fileid, r.inode.generation));
  EXPECT_EQ(attrs, r.inode);
}

TEST_F(NamespaceTest, CreateEveryNonDirectoryType) {
  CreateArgs link;
  link.type = FileType::kSymlink;
  link.symlink_target = "../some/where";
  ASSIGN_OR_FAIL(CreateResult s, ns_->Create(kRootFileId, "link", link));
  EXPECT_EQ(s.inode.symlink_target, "../some/where");
  EXPECT_EQ(s.inode.size_bytes, link.symlink_target.size());
  CreateArgs dev;
  dev.type = FileType::kBlk;
  dev.rdev = {8, 1};
  ASSIGN_OR_FAIL(CreateResult b, ns_->Create(kRootFileId, "sda1", dev));
  EXPECT_EQ(b.inode.rdev, (DeviceNumber{8, 1}));
  for (FileType t : {FileType::kChr, FileType::kFifo, FileType::kSock}) {
    CreateArgs a;
    a.type = t;
    ASSIGN_OR_FAIL(CreateResult r, ns_->Create(kRootFileId, FileTypeName(t), a));
    ASSIGN_OR_FAIL(Inode found, ns_->Lookup(kRootFileId, FileTypeName(t)));
    EXPECT_EQ(found.type, t);
  }
  ASSIGN_OR_FAIL(ReadDirResult list, ns_->ReadDir(kRootFileId, 0, 100));
  EXPECT_EQ(list.entries.size(), 5u);
}

TEST_F(NamespaceTest, CreateErrors) {
  FileId file = MakeFile(kRootFileId, "f");
  EXPECT_CODE(ns_->Create(kRootFileId, "f", FileArgs()), Code::kExists);
  EXPECT_CODE(ns_->Create(kRootFileId, "f", DirArgs()), Code::kExists);
  EXPECT_CODE(ns_->Create(file, "x", FileArgs()), Code::kNotDir);
  EXPECT_CODE(ns_->Create(999999, "x", FileArgs()), Code::kStale);
  EXPECT_CODE(ns_->Create(kRootFileId, "x", FileArgs(010000)), Code::kInvalid);
  CreateArgs link;
  link.type = FileType::kSymlink;
  EXPECT_CODE(ns_->Create(kRootFileId, "l", link), Code::kInvalid);  // empty target
  link.symlink_target = std::string(kSymlinkTargetBytesMax + 1, 'x');
  EXPECT_CODE(ns_->Create(kRootFileId, "l", link), Code::kTooBig);
  CreateArgs fifo;
  fifo.type = FileType::kFifo;
  fifo.how = CreateMode::kUnchecked;
  EXPECT_CODE(ns_->Create(kRootFileId, "p", fifo), Code::kInvalid);
}

TEST_F(NamespaceTest, BadNamesAreRefused) {
  for (std::string bad : {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
                          std::string("/"), std::string("a\0b", 3)}) {
    EXPECT_CODE(ns_->Create(kRootFileId, bad, FileArgs()), Code::kInvalid) << bad;
    EXPECT_CODE(ns_->Lookup(kRootFileId, bad), Code::kInvalid) << bad;
    EXPECT_CODE(ns_->Remove(kRootFileId, bad), Code::kInvalid) << bad;
    EXPECT_CODE(ns_->Rename(kRootFileId, bad, kRootFileId, "x"), Code::kInvalid) << bad;
    EXPECT_CODE(ns_->Rename(kRootFileId, "x", kRootFileId, bad), Code::kInvalid) << bad;
  }
  EXPECT_CODE(ns_->Create(kRootFileId, std::string(kNameBytesMax + 1, 'n'), FileArgs()),
              Code::kTooBig);
  EXPECT_OK(ns_->Create(kRootFileId, std::string(kNameBytesMax, 'n'), FileArgs()));
  EXPECT_OK(ns_->Create(kRootFileId, "...", FileArgs()));
  EXPECT_OK(ns_->Create(kRootFileId, "\xff\xfe not utf-8", FileArgs()));
}

// Verifier 0 is a verifier like any other (RFC 8881 18.16.3): an exclusive create with it
// matches only a file an exclusive create with it made, not one made otherwise (whose stored
// verifier is also 0).
TEST_F(NamespaceTest, AnExclusiveCreateWithVerifierZeroMatchesOnlyItsOwnFile) {
  MakeFile(kRootFileId, "plain");
  CreateArgs zero = FileArgs();
  zero.how = CreateMode::kExclusive;
  zero.verifier = 0;
  EXPECT_CODE(ns_->Create(kRootFileId, "plain", zero), Code::kExists);
  ASSIGN_OR_FAIL(CreateResult made, ns_->Create(kRootFileId, "x", zero));
  EXPECT_TRUE(made.created);
  ASSIGN_OR_FAIL(CreateResult again, ns_->Create(kRootFileId, "x", zero));  // a retransmission
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.inode.fileid, made.inode.fileid);
}

TEST_F(NamespaceTest, UncheckedAndExclusiveCreateReturnTheExistingFile) {
  CreateArgs a = FileArgs();
  a.how = CreateMode::kExclusive;
  a.verifier = 0x1234;
  ASSIGN_OR_FAIL(CreateResult first, ns_->Create(kRootFileId, "f", a));
  EXPECT_TRUE(first.created);
  ASSIGN_OR_FAIL(CreateResult again, ns_->Create(kRootFileId, "f", a));  // a retransmission
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.inode.fileid, first.inode.fileid);
  EXPECT_EQ(again.dir.before, again.dir.after);
  a.verifier = 0x9999;
  EXPECT_CODE(ns_->Create(kRootFileId, "f", a), Code::kExists);
  a.how = CreateMode::kUnchecked;
  ASSIGN_OR_FAIL(CreateResult unchecked, ns_->Create(kRootFileId, "f", a));
  EXPECT_FALSE(unchecked.created);
  EXPECT_EQ(unchecked.inode.fileid, first.inode.fileid);
  MakeDir(kRootFileId, "d");
  EXPECT_CODE(ns_->Create(kRootFileId, "d", a), Code::kExists);
}

TEST_F(NamespaceTest, MkdirLinksParentAndChild) {
  FileId d = MakeDir(kRootFileId, "d");
  Inode dir = Get(d);
  EXPECT_EQ(dir.nlink, 2u);
  EXPECT_EQ(dir.parent, kRootFileId);
  EXPECT_EQ(Get(kRootFileId).nlink, 3u);
  FileId sub = MakeDir(d, "sub");
  EXPECT_EQ(Get(d).nlink, 3u);
  ASSIGN_OR_FAIL(Inode parent, ns_->LookupParent(sub));
  EXPECT_EQ(parent.fileid, d);
  EXPECT_CODE(ns_->Create(kRootFileId, "d", DirArgs()), Code::kExists);
  CreateArgs excl = DirArgs();
  excl.how = CreateMode::kExclusive;
  EXPECT_CODE(ns_->Create(kRootFileId, "e", excl), Code::kInvalid);
  EXPECT_CODE(ns_->LookupParent(MakeFile(d, "f")), Code::kNotDir);
}

TEST_F(NamespaceTest, LookupAndGetAttrErrors) {
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_CODE(ns_->Lookup(kRootFileId, "missing"), Code::kNotFound);
  EXPECT_CODE(ns_->Lookup(f, "x"), Code::kNotDir);
  EXPECT_CODE(ns_->Lookup(424242, "x"), Code::kStale);
  Inode inode = Get(f);
  EXPECT_CODE(ns_->GetAttr(f, inode.generation + 1), Code::kStale);
  EXPECT_CODE(ns_->GetAttr(424242, 1), Code::kStale);
}

TEST_F(NamespaceTest, LookupChildAndEntryOfReadTheEntryAlone) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId f = MakeFile(d, "f");
  ASSIGN_OR_FAIL(Inode child, ns_->LookupChild(d, "f"));
  EXPECT_EQ(child.fileid, f);
  EXPECT_EQ(child, Get(f));
  ASSIGN_OR_FAIL(FileId id, ns_->EntryOf(d, "f"));
  EXPECT_EQ(id, f);
  EXPECT_CODE(ns_->LookupChild(d, "missing"), Code::kNotFound);
  EXPECT_CODE(ns_->EntryOf(d, "missing"), Code::kNotFound);
  EXPECT_CODE(ns_->LookupChild(d, ".."), Code::kInvalid);
  EXPECT_CODE(ns_->EntryOf(d, "a/b"), Code::kInvalid);
  // A directory removed after the caller read it has no entries left.
  ASSERT_OK(ns_->Remove(d, "f").status());
  ASSERT_OK(ns_->RmDir(kRootFileId, "d").status());
  EXPECT_CODE(ns_->LookupChild(d, "f"), Code::kNotFound);
  EXPECT_CODE(ns_->EntryOf(d, "f"), Code::kNotFound);
}

TEST_F(NamespaceTest, RemoveDropsTheLastLinkWithItsExtents) {
  FileId f = MakeFile(kRootFileId, "f");
  Extent e{f, 0, {{7, "fh", InstanceState::kValid, 1, 0, 10}}};
  ASSERT_OK(ns_->PutExtent(e));
  Inode before = Get(kRootFileId);
  ASSIGN_OR_FAIL(RemoveResult r, ns_->Remove(kRootFileId, "f"));
  EXPECT_TRUE(r.unlinked.dropped);
  EXPECT_EQ(r.unlinked.inode.nlink, 0u);
  ASSERT_EQ(r.unlinked.extents.size(), 1u);
  EXPECT_EQ(r.unlinked.extents[0], e);
  EXPECT_EQ(r.dir.before, before.change);
  Inode after = Get(kRootFileId);
  EXPECT_EQ(r.dir.after, after.change);
  EXPECT_GT(after.mtime, before.mtime);
  EXPECT_EQ(after.size_bytes, 0u);
  EXPECT_CODE(ns_->Lookup(kRootFileId, "f"), Code::kNotFound);
  EXPECT_CODE(ns_->GetInode(f), Code::kStale);
  EXPECT_CODE(ns_->GetExtents(f), Code::kStale);
}

TEST_F(NamespaceTest, RemoveErrors) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_CODE(ns_->Remove(kRootFileId, "missing"), Code::kNotFound);
  EXPECT_CODE(ns_->Remove(kRootFileId, "d"), Code::kIsDir);
  EXPECT_CODE(ns_->Remove(f, "x"), Code::kNotDir);
  EXPECT_CODE(ns_->Remove(777777, "x"), Code::kStale);
  EXPECT_CODE(ns_->RmDir(kRootFileId, "f"), Code::kNotDir);
  MakeFile(d, "inner");
  EXPECT_CODE(ns_->RmDir(kRootFileId, "d"), Code::kNotEmpty);
  EXPECT_CODE(ns_->Unlink(kRootFileId, "d"), Code::kNotEmpty);
}

TEST_F(NamespaceTest, RmDirAndUnlinkRemoveDirectories) {
  FileId d = MakeDir(kRootFileId, "d");
  MakeDir(kRootFileId, "e");
  EXPECT_EQ(Get(kRootFileId).nlink, 4u);
  ASSIGN_OR_FAIL(RemoveResult r, ns_->RmDir(kRootFileId, "d"));
  EXPECT_TRUE(r.unlinked.dropped);
  EXPECT_EQ(r.unlinked.inode.fileid, d);
  EXPECT_EQ(Get(kRootFileId).nlink, 3u);
  EXPECT_CODE(ns_->GetInode(d), Code::kStale);
  EXPECT_CODE(ns_->Create(d, "x", FileArgs()), Code::kStale);
  ASSERT_OK(ns_->Unlink(kRootFileId, "e"));
  MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->Unlink(kRootFileId, "f"));
  EXPECT_EQ(Get(kRootFileId).nlink, 2u);
  EXPECT_TRUE(Names(kRootFileId).empty());
}

TEST_F(NamespaceTest, LinkAddsANameAndRemoveKeepsTheOtherOne) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId f = MakeFile(kRootFileId, "f");
  Inode before = Get(f);
  ASSIGN_OR_FAIL(LinkResult l, ns_->Link(f, d, "g"));
  EXPECT_EQ(l.inode.nlink, 2u);
  EXPECT_GT(l.inode.change, before.change);
  EXPECT_GT(l.inode.ctime, before.ctime);
  EXPECT_EQ(l.dir.after, Get(d).change);
  ASSIGN_OR_FAIL(RemoveResult r, ns_->Remove(kRootFileId, "f"));
  EXPECT_FALSE(r.unlinked.dropped);
  EXPECT_EQ(r.unlinked.inode.nlink, 1u);
  ASSIGN_OR_FAIL(Inode still, ns_->Lookup(d, "g"));
  EXPECT_EQ(still.fileid, f);
  EXPECT_EQ(still.nlink, 1u);
}

TEST_F(NamespaceTest, LinkErrors) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_CODE(ns_->Link(d, kRootFileId, "d2"), Code::kIsDir);
  EXPECT_CODE(ns_->Link(f, kRootFileId, "f"), Code::kExists);
  EXPECT_CODE(ns_->Link(f, f, "x"), Code::kNotDir);
  EXPECT_CODE(ns_->Link(555555, kRootFileId, "x"), Code::kStale);
  EXPECT_CODE(ns_->Link(f, kRootFileId, ".."), Code::kInvalid);
}

TEST_F(NamespaceTest, SetAttrChangesWhatIsAskedAndBumpsChange) {
  FileId f = MakeFile(kRootFileId, "f");
  Inode before = Get(f);
  SetAttrArgs a;
  a.mode = 0700;
  a.uid = 1000;
  a.gid = 100;
  a.atime = SetTime{false, {12345, 6}};
  a.mtime = SetTime{true, {}};
  ASSIGN_OR_FAIL(SetAttrResult r, ns_->SetAttr(f, a));
  EXPECT_EQ(r.before, before);
  EXPECT_EQ(r.after.mode, 0700u);
  EXPECT_EQ(r.after.uid, 1000u);
  EXPECT_EQ(r.after.gid, 100u);
  EXPECT_EQ(r.after.atime, (Timespec{12345, 6}));
  EXPECT_GT(r.after.mtime, before.mtime);
  EXPECT_GT(r.after.ctime, before.ctime);
  EXPECT_EQ(r.after.change, before.change + 1);
  EXPECT_EQ(r.after.data_generation, before.data_generation);  // no size change
  EXPECT_EQ(Get(f), r.after);
  ASSIGN_OR_FAIL(SetAttrResult nothing, ns_->SetAttr(f, SetAttrArgs{}));
  EXPECT_EQ(nothing.after, r.after);
}

TEST_F(NamespaceTest, SetAttrSizeBumpsDataGenerationAndGuardsHold) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->RecordWrite(f, 100));
  Inode before = Get(f);
  SetAttrArgs truncate;
  truncate.size_bytes = 10;
  truncate.guard_change = before.change;
  ASSIGN_OR_FAIL(SetAttrResult r, ns_->SetAttr(f, truncate));
  EXPECT_EQ(r.before.size_bytes, 100u);
  EXPECT_EQ(r.after.size_bytes, 10u);
  EXPECT_EQ(r.after.space_used_bytes, 10u);
  EXPECT_EQ(r.after.data_generation, before.data_generation + 1);
  EXPECT_GT(r.after.mtime, before.mtime);
  EXPECT_CODE(ns_->SetAttr(f, truncate), Code::kPrecondition);  // guard is now stale
  SetAttrArgs bad;
  bad.mode = 0100644;
  EXPECT_CODE(ns_->SetAttr(f, bad), Code::kInvalid);
  SetAttrArgs dir_size;
  dir_size.size_bytes = 0;
  EXPECT_CODE(ns_->SetAttr(kRootFileId, dir_size), Code::kIsDir);
  EXPECT_CODE(ns_->SetAttr(424242, dir_size), Code::kStale);
  SetAttrArgs bad_time;
  bad_time.mtime = SetTime{false, {1, 1000000000}};
  EXPECT_CODE(ns_->SetAttr(f, bad_time), Code::kInvalid);
}

TEST_F(NamespaceTest, RecordWriteGrowsSizeAndDataGeneration) {
  FileId f = MakeFile(kRootFileId, "f");
  Inode before = Get(f);
  ASSIGN_OR_FAIL(Inode a, ns_->RecordWrite(f, 4096));
  EXPECT_EQ(a.size_bytes, 4096u);
  EXPECT_EQ(a.data_generation, before.data_generation + 1);
  EXPECT_GT(a.change, before.change);
  ASSIGN_OR_FAIL(Inode b, ns_->RecordWrite(f, 100, Timespec{5, 0}));
  EXPECT_EQ(b.size_bytes, 4096u);  // a write inside the file does not shrink it
  EXPECT_EQ(b.mtime, (Timespec{5, 0}));
  EXPECT_EQ(b.data_generation, before.data_generation + 2);
  EXPECT_CODE(ns_->RecordWrite(kRootFileId, 1), Code::kIsDir);
}

TEST_F(NamespaceTest, FileIdsAreUniqueAndNeverReusedAcrossReopen) {
  std::set<FileId> seen{kRootFileId};
  for (int i = 0; i < 20; i++)
    EXPECT_TRUE(seen.insert(MakeFile(kRootFileId, "a" + std::to_string(i))).second);
  FileId last = *seen.rbegin();
  ASSERT_OK(ns_->Remove(kRootFileId, "a19"));
  Reopen();  // the rest of the reserved block is skipped, never handed out again
  FileId next = MakeFile(kRootFileId, "after");
  EXPECT_GE(next, last + kFileIdBlockSizeDefault - 20);
  EXPECT_EQ(ns_->fileid_blocks_reserved(), 1u);
  EXPECT_FALSE(seen.count(next));
}

}  // namespace
}  // namespace manifold::meta
