// Orphans (docs/schema.md, "Orphans"): a regular file whose last name goes while KeepOrphan
// says it is open keeps its inode (nlink 0), extents and xattrs under an orphans key until
// PurgeOrphan. The fixture runs fsck after each test, which checks the orphan invariants.
#include <gtest/gtest.h>

#include "meta/limits.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::FileArgs;

class OrphanTest : public testing::NamespaceFixture {
 protected:
  static KeepOrphan Always() {
    return [](FileId) { return true; };
  }
  // A file with one extent and one xattr.
  FileId MakeFileWithData(FileId parent, const std::string& name) {
    FileId f = MakeFile(parent, name);
    extent_ = Extent{f, 0, {{7, "fh-" + name, InstanceState::kValid, 1, 0, 10}}};
    EXPECT_OK(ns_->PutExtent(extent_));
    EXPECT_OK(ns_->SetXattr(f, "user.k", "v", XattrSetMode::kCreate));
    return f;
  }
  std::vector<FileId> Orphans() {
    std::vector<FileId> out;
    Result<std::vector<OrphanRecord>> list = ns_->ListOrphans(0, kListPageEntriesMax);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (list.ok())
      for (const OrphanRecord& o : *list) out.push_back(o.fileid);
    return out;
  }
  // Plants records behind the namespace's back (fsck tests).
  void Plant(const std::function<void(Txn&)>& fn) {
    ns_.reset();
    RocksKvOptions o;
    o.sync_commits = false;
    Result<std::unique_ptr<RocksKv>> kv = RocksKv::Open(dir_.path(), o);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    std::unique_ptr<Txn> txn = (*kv)->BeginTxn();
    fn(*txn);
    ASSERT_OK(txn->Commit());
    kv->reset();
    Reopen();
  }

  Extent extent_;
};

TEST_F(OrphanTest, RemoveOfAnOpenFileKeepsItsInodeExtentsAndXattrs) {
  FileId f = MakeFileWithData(kRootFileId, "f");
  Inode before = Get(f);
  std::vector<FileId> asked;
  ASSIGN_OR_FAIL(RemoveResult r, ns_->Remove(kRootFileId, "f", [&](FileId id) {
    asked.push_back(id);
    return true;
  }));
  EXPECT_EQ(asked, std::vector<FileId>{f});
  EXPECT_TRUE(r.unlinked.orphaned);
  EXPECT_FALSE(r.unlinked.dropped);
  EXPECT_TRUE(r.unlinked.extents.empty());  // nothing for the caller to delete yet
  EXPECT_EQ(r.unlinked.inode.nlink, 0u);
  EXPECT_CODE(ns_->Lookup(kRootFileId, "f"), Code::kNotFound);
  ASSIGN_OR_FAIL(Inode orphan, ns_->GetAttr(f, before.generation));
  EXPECT_EQ(orphan.nlink, 0u);
  EXPECT_GT(orphan.change, before.change);
  EXPECT_GT(orphan.ctime, before.ctime);
  ASSIGN_OR_FAIL(std::vector<Extent> extents, ns_->GetExtents(f));
  EXPECT_EQ(extents, std::vector<Extent>{extent_});
  ASSIGN_OR_FAIL(std::string xattr, ns_->GetXattr(f, "user.k"));
  EXPECT_EQ(xattr, "v");
  ASSIGN_OR_FAIL(std::vector<OrphanRecord> list, ns_->ListOrphans(0, 10));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].fileid, f);
  EXPECT_EQ(list[0].since, orphan.ctime);
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.orphans, 1u);
}

TEST_F(OrphanTest, AnOrphanStaysWritableAndSurvivesAReopen) {
  FileId f = MakeFileWithData(kRootFileId, "f");
  ASSERT_OK(ns_->Unlink(kRootFileId, "f", Always()));
  ASSIGN_OR_FAIL(Inode written, ns_->RecordWrite(f, 4096));
  EXPECT_EQ(written.size_bytes, 4096u);
  EXPECT_EQ(written.nlink, 0u);
  ASSERT_OK(ns_->PutExtent(Extent{f, 1, {{7, "fh-1", InstanceState::kValid, 0, 0, 0}}}));
  SetAttrArgs cut;
  cut.size_bytes = 10;
  ASSERT_OK(ns_->SetAttr(f, cut));
  Reopen();
  EXPECT_EQ(Get(f).size_bytes, 10u);
  EXPECT_EQ(Orphans(), std::vector<FileId>{f});
  ASSIGN_OR_FAIL(std::vector<Extent> extents, ns_->GetExtents(f));
  EXPECT_EQ(extents.size(), 2u);
}

TEST_F(OrphanTest, KeepIsAskedOnlyForTheLastNameOfARegularFile) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->Link(f, kRootFileId, "g"));
  int asked = 0;
  KeepOrphan counting = [&](FileId) {
    asked++;
    return true;
  };
  ASSIGN_OR_FAIL(RemoveResult first, ns_->Remove(kRootFileId, "f", counting));
  EXPECT_EQ(asked, 0);
  EXPECT_FALSE(first.unlinked.orphaned);
  EXPECT_EQ(first.unlinked.inode.nlink, 1u);
  CreateArgs link_args;
  link_args.type = FileType::kSymlink;
  link_args.symlink_target = "f";
  ASSIGN_OR_FAIL(CreateResult link, ns_->Create(kRootFileId, "s", link_args));
  ASSIGN_OR_FAIL(RemoveResult symlink, ns_->Remove(kRootFileId, "s", counting));
  EXPECT_TRUE(symlink.unlinked.dropped);  // only regular files can be open
  EXPECT_EQ(asked, 0);
  EXPECT_CODE(ns_->GetInode(link.inode.fileid), Code::kStale);
  ASSIGN_OR_FAIL(RemoveResult last, ns_->Remove(kRootFileId, "g", counting));
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(last.unlinked.orphaned);
}

TEST_F(OrphanTest, AFileNobodyHasOpenGoesAtOnce) {
  FileId f = MakeFileWithData(kRootFileId, "f");
  ASSIGN_OR_FAIL(RemoveResult r, ns_->Remove(kRootFileId, "f", [](FileId) { return false; }));
  EXPECT_TRUE(r.unlinked.dropped);
  EXPECT_FALSE(r.unlinked.orphaned);
  EXPECT_EQ(r.unlinked.extents, std::vector<Extent>{extent_});
  EXPECT_CODE(ns_->GetInode(f), Code::kStale);
  EXPECT_TRUE(Orphans().empty());
}

TEST_F(OrphanTest, PurgeDeletesTheOrphanWithEverythingItHas) {
  FileId f = MakeFileWithData(kRootFileId, "f");
  ASSERT_OK(ns_->Remove(kRootFileId, "f", Always()));
  ASSIGN_OR_FAIL(Unlinked kept, ns_->PurgeOrphan(f, Always()));  // open again: stays
  EXPECT_FALSE(kept.dropped);
  EXPECT_EQ(Orphans(), std::vector<FileId>{f});
  ASSIGN_OR_FAIL(Unlinked purged, ns_->PurgeOrphan(f));
  EXPECT_TRUE(purged.dropped);
  EXPECT_EQ(purged.inode.fileid, f);
  EXPECT_EQ(purged.extents, std::vector<Extent>{extent_});
  EXPECT_CODE(ns_->GetInode(f), Code::kStale);
  EXPECT_CODE(ns_->GetExtents(f), Code::kStale);
  EXPECT_CODE(ns_->GetXattr(f, "user.k"), Code::kStale);
  EXPECT_TRUE(Orphans().empty());
  ASSIGN_OR_FAIL(Unlinked again, ns_->PurgeOrphan(f));  // gone already: a no-op
  EXPECT_FALSE(again.dropped);
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.orphans, 0u);
  EXPECT_EQ(counts.extents, 0u);
  EXPECT_EQ(counts.xattrs, 0u);
}

TEST_F(OrphanTest, PurgeOfAFileWithANameIsANoOp) {
  FileId f = MakeFileWithData(kRootFileId, "f");
  FileId d = MakeDir(kRootFileId, "d");
  for (FileId id : {f, d, kRootFileId}) {
    ASSIGN_OR_FAIL(Unlinked r, ns_->PurgeOrphan(id));
    EXPECT_FALSE(r.dropped) << id;
    EXPECT_TRUE(r.extents.empty()) << id;
    EXPECT_OK(ns_->GetInode(id));
  }
  ASSIGN_OR_FAIL(std::vector<Extent> extents, ns_->GetExtents(f));
  EXPECT_EQ(extents.size(), 1u);
  EXPECT_EQ(Names(kRootFileId), (std::vector<std::string>{"d", "f"}));
}

TEST_F(OrphanTest, RenameOverAnOpenFileOrphansTheTarget) {
  FileId target = MakeFileWithData(kRootFileId, "target");
  FileId src = MakeFile(kRootFileId, "src");
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "src", kRootFileId, "target",
                                             [&](FileId id) { return id == target; }));
  ASSERT_TRUE(r.replaced.has_value());
  EXPECT_TRUE(r.replaced->orphaned);
  EXPECT_FALSE(r.replaced->dropped);
  EXPECT_EQ(r.replaced->inode.fileid, target);
  ASSIGN_OR_FAIL(Inode named, ns_->Lookup(kRootFileId, "target"));
  EXPECT_EQ(named.fileid, src);
  EXPECT_EQ(Get(target).nlink, 0u);
  EXPECT_EQ(Orphans(), std::vector<FileId>{target});
  ASSIGN_OR_FAIL(Unlinked purged, ns_->PurgeOrphan(target));
  EXPECT_EQ(purged.extents, std::vector<Extent>{extent_});
}

// As Linux answers linkat(2) of an unlinked file: ENOENT.
TEST_F(OrphanTest, AnOrphanCannotGetANameAgain) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->Remove(kRootFileId, "f", Always()));
  EXPECT_CODE(ns_->Link(f, kRootFileId, "again"), Code::kNotFound);
  EXPECT_TRUE(Names(kRootFileId).empty());
  EXPECT_EQ(Get(f).nlink, 0u);
}

TEST_F(OrphanTest, ListOrphansPagesInFileidOrder) {
  std::vector<FileId> made;
  for (int i = 0; i < 5; i++) {
    std::string name = "f" + std::to_string(i);
    made.push_back(MakeFile(kRootFileId, name));
    ASSERT_OK(ns_->Remove(kRootFileId, name, Always()));
  }
  std::vector<FileId> seen;
  FileId after = 0;
  for (;;) {
    ASSIGN_OR_FAIL(std::vector<OrphanRecord> page, ns_->ListOrphans(after, 2));
    if (page.empty()) break;
    EXPECT_LE(page.size(), 2u);
    for (const OrphanRecord& o : page) seen.push_back(o.fileid);
    after = page.back().fileid;
  }
  EXPECT_EQ(seen, made);
  EXPECT_CODE(ns_->ListOrphans(0, 0), Code::kInvalid);
  EXPECT_CODE(ns_->ListOrphans(0, kListPageEntriesMax + 1), Code::kInvalid);
  ASSIGN_OR_FAIL(std::vector<OrphanRecord> none, ns_->ListOrphans(UINT64_MAX, 10));
  EXPECT_TRUE(none.empty());
}

// fsck: an orphans key needs a regular file with nlink 0 (hence no dirent), and a file with
// nlink 0 needs an orphans key.
TEST_F(OrphanTest, FsckFindsAnOrphansKeyOnAFileWithAName) {
  FileId f = MakeFile(kRootFileId, "f");
  Plant([&](Txn& txn) {
    ASSERT_OK(txn.Put(Cf::kOrphans, OrphanKey(f), EncodeOrphan(OrphanRecord{f, {}})));
  });
  EXPECT_CODE(ns_->Check(testing::kFsckInodesMax), Code::kCorruption);
  ns_.reset();  // the fixture's own fsck would fail on purpose-made corruption
}

TEST_F(OrphanTest, FsckFindsAnOrphansKeyWithoutAnInode) {
  MakeFile(kRootFileId, "f");
  Plant([&](Txn& txn) {
    ASSERT_OK(txn.Put(Cf::kOrphans, OrphanKey(999), EncodeOrphan(OrphanRecord{999, {}})));
  });
  EXPECT_CODE(ns_->Check(testing::kFsckInodesMax), Code::kCorruption);
  ns_.reset();
}

TEST_F(OrphanTest, FsckFindsAFileWithNoNameAndNoOrphansKey) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->Remove(kRootFileId, "f", Always()));
  ASSERT_OK(ns_->Check(testing::kFsckInodesMax));
  Plant([&](Txn& txn) { ASSERT_OK(txn.Delete(Cf::kOrphans, OrphanKey(f))); });
  EXPECT_CODE(ns_->Check(testing::kFsckInodesMax), Code::kCorruption);
  EXPECT_CODE(ns_->PurgeOrphan(f), Code::kCorruption);
  ns_.reset();
}

}  // namespace
}  // namespace manifold::meta
