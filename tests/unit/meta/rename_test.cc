// RENAME edge cases against POSIX rename(2): replacement rules, same-file no-ops, moving
// directories (nlink, "..", subtree check), cookies and counters. fsck runs after each test.
#include <gtest/gtest.h>

#include <thread>

#include "meta/limits.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::FileArgs;

class RenameTest : public testing::NamespaceFixture {};

TEST_F(RenameTest, WithinOneDirectory) {
  FileId f = MakeFile(kRootFileId, "a");
  Inode dir_before = Get(kRootFileId);
  Inode file_before = Get(f);
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "a", kRootFileId, "b"));
  EXPECT_FALSE(r.noop);
  EXPECT_FALSE(r.replaced);
  EXPECT_EQ(r.src_dir.before, dir_before.change);
  EXPECT_EQ(r.src_dir.after, Get(kRootFileId).change);
  EXPECT_EQ(r.dst_dir.after, r.src_dir.after);
  EXPECT_EQ(Names(kRootFileId), std::vector<std::string>{"b"});
  Inode file_after = Get(f);
  EXPECT_GT(file_after.ctime, file_before.ctime);
  EXPECT_GT(file_after.change, file_before.change);
  EXPECT_EQ(file_after.nlink, 1u);
  EXPECT_EQ(Get(kRootFileId).size_bytes, 1u);
  EXPECT_GT(Get(kRootFileId).mtime, dir_before.mtime);
}

TEST_F(RenameTest, SameNameIsANoOp) {
  MakeFile(kRootFileId, "a");
  Inode before = Get(kRootFileId);
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "a", kRootFileId, "a"));
  EXPECT_TRUE(r.noop);
  EXPECT_EQ(r.src_dir.before, r.src_dir.after);
  EXPECT_EQ(Get(kRootFileId), before);
}

TEST_F(RenameTest, HardLinksOfOneFileAreANoOp) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId f = MakeFile(kRootFileId, "a");
  ASSERT_OK(ns_->Link(f, d, "b"));
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "a", d, "b"));
  EXPECT_TRUE(r.noop);  // POSIX: both names stay
  EXPECT_EQ(Names(kRootFileId), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(Names(d), std::vector<std::string>{"b"});
  EXPECT_EQ(Get(f).nlink, 2u);
}

TEST_F(RenameTest, OverAnExistingFileDropsIt) {
  FileId a = MakeFile(kRootFileId, "a");
  FileId b = MakeFile(kRootFileId, "b");
  Extent e{b, 0, {{1, "fh-b", InstanceState::kValid, 0, 0, 1}}};
  ASSERT_OK(ns_->PutExtent(e));
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "a", kRootFileId, "b"));
  ASSERT_TRUE(r.replaced);
  EXPECT_EQ(r.replaced->inode.fileid, b);
  EXPECT_TRUE(r.replaced->dropped);
  ASSERT_EQ(r.replaced->extents.size(), 1u);  // the caller deletes fh-b on volume 1
  EXPECT_EQ(Names(kRootFileId), std::vector<std::string>{"b"});
  ASSIGN_OR_FAIL(Inode now_b, ns_->Lookup(kRootFileId, "b"));
  EXPECT_EQ(now_b.fileid, a);
  EXPECT_CODE(ns_->GetInode(b), Code::kStale);
}

TEST_F(RenameTest, OverAFileWithAnotherLinkKeepsIt) {
  FileId d = MakeDir(kRootFileId, "d");
  MakeFile(kRootFileId, "a");
  FileId b = MakeFile(kRootFileId, "b");
  ASSERT_OK(ns_->Link(b, d, "b2"));
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "a", kRootFileId, "b"));
  ASSERT_TRUE(r.replaced);
  EXPECT_FALSE(r.replaced->dropped);
  EXPECT_EQ(Get(b).nlink, 1u);
}

TEST_F(RenameTest, DirectoryOverAnEmptyDirectory) {
  FileId src = MakeDir(kRootFileId, "src");
  FileId dst = MakeDir(kRootFileId, "dst");
  MakeFile(src, "inside");
  EXPECT_EQ(Get(kRootFileId).nlink, 4u);
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(kRootFileId, "src", kRootFileId, "dst"));
  ASSERT_TRUE(r.replaced);
  EXPECT_EQ(r.replaced->inode.fileid, dst);
  EXPECT_TRUE(r.replaced->dropped);
  EXPECT_EQ(Get(kRootFileId).nlink, 3u);
  ASSIGN_OR_FAIL(Inode moved, ns_->Lookup(kRootFileId, "dst"));
  EXPECT_EQ(moved.fileid, src);
  EXPECT_EQ(Names(src), std::vector<std::string>{"inside"});
}

TEST_F(RenameTest, IncompatibleOrNonEmptyTargetsAreRefused) {
  FileId d = MakeDir(kRootFileId, "d");
  FileId full = MakeDir(kRootFileId, "full");
  FileId f = MakeFile(kRootFileId, "f");
  MakeFile(full, "x");
  EXPECT_CODE(ns_->Rename(kRootFileId, "d", kRootFileId, "f"), Code::kNotDir);
  EXPECT_CODE(ns_->Rename(kRootFileId, "f", kRootFileId, "d"), Code::kIsDir);
  EXPECT_CODE(ns_->Rename(kRootFileId, "d", kRootFileId, "full"), Code::kNotEmpty);
  EXPECT_CODE(ns_->Rename(kRootFileId, "missing", kRootFileId, "y"), Code::kNotFound);
  EXPECT_CODE(ns_->Rename(kRootFileId, "f", d, "."), Code::kInvalid);
  EXPECT_CODE(ns_->Rename(kRootFileId, "f", 999999, "y"), Code::kStale);
  EXPECT_CODE(ns_->Rename(kRootFileId, "d", f, "y"), Code::kNotDir);
  EXPECT_EQ(Names(kRootFileId), (std::vector<std::string>{"d", "f", "full"}));
}

TEST_F(RenameTest, DirectoryAcrossParentsMovesItsDotDotAndLinks) {
  FileId a = MakeDir(kRootFileId, "a");
  FileId b = MakeDir(kRootFileId, "b");
  FileId moved = MakeDir(a, "m");
  MakeDir(moved, "child");
  EXPECT_EQ(Get(a).nlink, 3u);
  EXPECT_EQ(Get(b).nlink, 2u);
  Inode a_before = Get(a), b_before = Get(b);
  ASSIGN_OR_FAIL(RenameResult r, ns_->Rename(a, "m", b, "m2"));
  EXPECT_EQ(r.src_dir.before, a_before.change);
  EXPECT_EQ(r.dst_dir.before, b_before.change);
  EXPECT_EQ(r.src_dir.after, Get(a).change);
  EXPECT_EQ(r.dst_dir.after, Get(b).change);
  EXPECT_EQ(Get(a).nlink, 2u);
  EXPECT_EQ(Get(b).nlink, 3u);
  EXPECT_EQ(Get(moved).parent, b);
  EXPECT_EQ(Get(moved).nlink, 3u);
  ASSIGN_OR_FAIL(Inode up, ns_->LookupParent(moved));
  EXPECT_EQ(up.fileid, b);
  EXPECT_GT(Get(a).mtime, a_before.mtime);
  EXPECT_GT(Get(b).mtime, b_before.mtime);
}

TEST_F(RenameTest, DirectoryIntoItsOwnSubtreeIsInvalid) {
  FileId a = MakeDir(kRootFileId, "a");
  FileId b = MakeDir(a, "b");
  FileId c = MakeDir(b, "c");
  EXPECT_CODE(ns_->Rename(kRootFileId, "a", c, "a"), Code::kInvalid);
  EXPECT_CODE(ns_->Rename(kRootFileId, "a", a, "self"), Code::kInvalid);
  EXPECT_CODE(ns_->Rename(a, "b", b, "x"), Code::kInvalid);
  // Moving up and sideways is fine.
  ASSERT_OK(ns_->Rename(b, "c", kRootFileId, "c"));
  ASSERT_OK(ns_->Rename(kRootFileId, "c", a, "c"));
  EXPECT_EQ(Get(c).parent, a);
}

TEST_F(RenameTest, MovedEntryGetsANewLargerCookie) {
  MakeFile(kRootFileId, "a");
  MakeFile(kRootFileId, "b");
  ASSIGN_OR_FAIL(ReadDirResult before, ns_->ReadDir(kRootFileId, 0, 10));
  ASSERT_OK(ns_->Rename(kRootFileId, "a", kRootFileId, "z"));
  ASSIGN_OR_FAIL(ReadDirResult after, ns_->ReadDir(kRootFileId, 0, 10));
  ASSERT_EQ(after.entries.size(), 2u);
  EXPECT_EQ(after.entries[0].name, "b");
  EXPECT_EQ(after.entries[1].name, "z");
  EXPECT_GT(after.entries[1].cookie, before.entries[1].cookie);
}

TEST_F(RenameTest, ConcurrentOppositeDirectoryMovesNeverMakeACycle) {
  // a/x and b/y, then concurrently: move a under b/y and b under a/x. Without the rename lock
  // both subtree checks could pass and leave a cycle detached from the root; with it, at most
  // one succeeds and fsck (teardown) finds every directory reachable exactly once.
  for (int round = 0; round < 20; round++) {
    std::string sa = "a" + std::to_string(round), sb = "b" + std::to_string(round);
    FileId a = MakeDir(kRootFileId, sa);
    FileId b = MakeDir(kRootFileId, sb);
    FileId x = MakeDir(a, "x");
    FileId y = MakeDir(b, "y");
    Status s1, s2;
    std::thread t1([&] { s1 = ns_->Rename(kRootFileId, sa, y, "a").status(); });
    std::thread t2([&] { s2 = ns_->Rename(kRootFileId, sb, x, "b").status(); });
    t1.join();
    t2.join();
    EXPECT_FALSE(s1.ok() && s2.ok()) << "round " << round;
    EXPECT_TRUE(s1.ok() || s1.code() == Code::kInvalid) << s1.ToString();
    EXPECT_TRUE(s2.ok() || s2.code() == Code::kInvalid) << s2.ToString();
  }
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.inodes, 1u + 20 * 4);
}

}  // namespace
}  // namespace manifold::meta
