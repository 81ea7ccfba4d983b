// Extended attributes: set/get/list/remove, the SETXATTR modes, the change counter and ctime,
// every named bound, stable listing cookies, and xattrs going away with the inode's last link.
// The fixture runs fsck after each test (no orphan xattrs, counts equal to the records).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "meta/limits.h"
#include "meta/rocks_kv.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using testing::FileArgs;

class XattrTest : public testing::NamespaceFixture {
 protected:
  // Every name, paging with `page` names per call.
  std::vector<std::string> AllNames(FileId fileid, uint32_t page = 100) {
    std::vector<std::string> names;
    uint64_t cookie = 0;
    for (;;) {
      Result<XattrListResult> r = ns_->ListXattrs(fileid, cookie, page);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return names;
      for (XattrName& n : r->names) {
        EXPECT_GT(n.cookie, cookie);
        cookie = n.cookie;
        names.push_back(std::move(n.name));
      }
      if (r->eof) return names;
    }
  }
  Status Set(FileId f, std::string_view name, std::string_view value,
             XattrSetMode mode = XattrSetMode::kEither) {
    return ns_->SetXattr(f, name, value, mode).status();
  }
};

TEST_F(XattrTest, SetGetListRemoveRoundTrip) {
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_CODE(ns_->GetXattr(f, "user.a"), Code::kNotFound);
  EXPECT_TRUE(AllNames(f).empty());
  ASSERT_OK(Set(f, "user.b", "2"));
  ASSERT_OK(Set(f, "user.a", std::string("\0binary\xff", 8)));
  ASSERT_OK(Set(f, "user.empty", ""));
  ASSIGN_OR_FAIL(std::string a, ns_->GetXattr(f, "user.a"));
  EXPECT_EQ(a, std::string("\0binary\xff", 8));
  ASSIGN_OR_FAIL(std::string empty, ns_->GetXattr(f, "user.empty"));
  EXPECT_EQ(empty, "");
  // Listed in the order the names were first set (cookie order).
  EXPECT_EQ(AllNames(f), (std::vector<std::string>{"user.b", "user.a", "user.empty"}));
  Inode n = Get(f);
  EXPECT_EQ(n.xattr_count, 3u);
  EXPECT_EQ(n.xattr_bytes, 6u + 1 + 6 + 8 + 10 + 0);
  ASSERT_OK(ns_->RemoveXattr(f, "user.a"));
  EXPECT_CODE(ns_->GetXattr(f, "user.a"), Code::kNotFound);
  EXPECT_CODE(ns_->RemoveXattr(f, "user.a"), Code::kNotFound);
  EXPECT_EQ(AllNames(f), (std::vector<std::string>{"user.b", "user.empty"}));
  EXPECT_EQ(Get(f).xattr_count, 2u);
}

TEST_F(XattrTest, CreateAndReplaceModes) {
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_CODE(Set(f, "user.x", "1", XattrSetMode::kReplace), Code::kNotFound);
  ASSERT_OK(Set(f, "user.x", "1", XattrSetMode::kCreate));
  EXPECT_CODE(Set(f, "user.x", "2", XattrSetMode::kCreate), Code::kExists);
  ASSERT_OK(Set(f, "user.x", "33", XattrSetMode::kReplace));
  ASSERT_OK(Set(f, "user.x", "444", XattrSetMode::kEither));
  ASSIGN_OR_FAIL(std::string v, ns_->GetXattr(f, "user.x"));
  EXPECT_EQ(v, "444");
  EXPECT_EQ(Get(f).xattr_count, 1u);
  EXPECT_EQ(Get(f).xattr_bytes, 6u + 3);
  EXPECT_EQ(AllNames(f), std::vector<std::string>{"user.x"});  // a replace keeps one cookie
}

TEST_F(XattrTest, EveryChangeBumpsChangeAndCtimeButNotMtime) {
  FileId f = MakeFile(kRootFileId, "f");
  Inode before = Get(f);
  ASSIGN_OR_FAIL(DirChange set, ns_->SetXattr(f, "user.x", "1", XattrSetMode::kEither));
  Inode after_set = Get(f);
  EXPECT_EQ(set.before, before.change);
  EXPECT_EQ(set.after, after_set.change);
  EXPECT_GT(after_set.change, before.change);
  EXPECT_GT(after_set.ctime, before.ctime);
  EXPECT_EQ(after_set.mtime, before.mtime);
  // A refused change changes nothing.
  EXPECT_CODE(Set(f, "user.x", "2", XattrSetMode::kCreate), Code::kExists);
  EXPECT_EQ(Get(f), after_set);
  ASSIGN_OR_FAIL(DirChange removed, ns_->RemoveXattr(f, "user.x"));
  Inode after_remove = Get(f);
  EXPECT_EQ(removed.before, after_set.change);
  EXPECT_EQ(removed.after, after_remove.change);
  EXPECT_GT(after_remove.ctime, after_set.ctime);
  // The parent directory is not touched: xattrs are the file's own.
  Inode root = Get(kRootFileId);
  ASSERT_OK(Set(f, "user.y", "1"));
  EXPECT_EQ(Get(kRootFileId), root);
}

TEST_F(XattrTest, NamesAndValuesAreBounded) {
  FileId f = MakeFile(kRootFileId, "f");
  EXPECT_OK(Set(f, std::string(kXattrNameBytesMax, 'n'), "v"));
  EXPECT_CODE(Set(f, std::string(kXattrNameBytesMax + 1, 'n'), "v"), Code::kTooBig);
  EXPECT_CODE(Set(f, "", "v"), Code::kInvalid);
  EXPECT_CODE(Set(f, std::string("a\0b", 3), "v"), Code::kInvalid);
  EXPECT_CODE(ns_->GetXattr(f, std::string(kXattrNameBytesMax + 1, 'n')), Code::kTooBig);
  EXPECT_OK(Set(f, "user.big", std::string(kXattrValueBytesMax, 'v')));
  EXPECT_CODE(Set(f, "user.bigger", std::string(kXattrValueBytesMax + 1, 'v')), Code::kTooBig);
  ASSIGN_OR_FAIL(std::string big, ns_->GetXattr(f, "user.big"));
  EXPECT_EQ(big.size(), kXattrValueBytesMax);
}

TEST_F(XattrTest, PerInodeCountIsBoundedWithNoSpace) {
  FileId f = MakeFile(kRootFileId, "f");
  for (uint32_t i = 0; i < kXattrsPerInodeMax; i++) {
    ASSERT_OK(Set(f, "user." + std::to_string(i), "v"));
  }
  EXPECT_CODE(Set(f, "user.one-more", "v"), Code::kNoSpace);
  EXPECT_OK(Set(f, "user.0", "replaced"));  // a replace adds no xattr
  EXPECT_EQ(Get(f).xattr_count, kXattrsPerInodeMax);
  EXPECT_EQ(AllNames(f, 333).size(), kXattrsPerInodeMax);
  ASSERT_OK(ns_->RemoveXattr(f, "user.7"));
  EXPECT_OK(Set(f, "user.one-more", "v"));
}

TEST_F(XattrTest, PerInodeBytesAreBoundedWithNoSpace) {
  FileId f = MakeFile(kRootFileId, "f");
  const std::string value(kXattrValueBytesMax, 'v');
  uint64_t used = 0;
  int i = 0;
  for (;; i++) {
    std::string name = "user." + std::to_string(i);
    if (used + name.size() + value.size() > kXattrBytesPerInodeMax) break;
    ASSERT_OK(Set(f, name, value));
    used += name.size() + value.size();
  }
  EXPECT_CODE(Set(f, "user." + std::to_string(i), value), Code::kNoSpace);
  // Growing an existing value past the bound is refused too; shrinking it is fine.
  EXPECT_EQ(Get(f).xattr_bytes, used);
  ASSERT_OK(Set(f, "user.0", "small"));
  EXPECT_EQ(Get(f).xattr_bytes, used - value.size() + 5);
  EXPECT_OK(Set(f, "user." + std::to_string(i), std::string(kXattrValueBytesMax / 2, 'v')));
}

TEST_F(XattrTest, ListingCookiesStayValidWhileTheSetChanges) {
  FileId f = MakeFile(kRootFileId, "f");
  std::set<std::string> stable;
  for (int i = 0; i < 40; i++) {
    ASSERT_OK(Set(f, "user.s" + std::to_string(i), "v"));
    stable.insert("user.s" + std::to_string(i));
  }
  std::multiset<std::string> seen;
  uint64_t cookie = 0;
  for (int page = 0;; page++) {
    ASSIGN_OR_FAIL(XattrListResult r, ns_->ListXattrs(f, cookie, 7));
    for (const XattrName& n : r.names) {
      seen.insert(n.name);
      cookie = n.cookie;
    }
    if (r.eof) break;
    // Between pages: names come and go, and some are replaced (which keeps their cookie).
    ASSERT_OK(Set(f, "user.new" + std::to_string(page), "v"));
    ASSERT_OK(Set(f, "user.s" + std::to_string(page * 3), "replaced"));
    ASSERT_OK(Set(f, "user.gone" + std::to_string(page), "v"));
    ASSERT_OK(ns_->RemoveXattr(f, "user.gone" + std::to_string(page)));
  }
  for (const std::string& name : stable) EXPECT_EQ(seen.count(name), 1u) << name;
  for (const std::string& name : seen) EXPECT_EQ(name.rfind("user.gone", 0), std::string::npos);
}

TEST_F(XattrTest, ListRefusesCookiesNeverIssuedAndBadPageSizes) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(Set(f, "user.a", "v"));
  ASSERT_OK(Set(f, "user.b", "v"));
  ASSIGN_OR_FAIL(XattrListResult all, ns_->ListXattrs(f, 0, 10));
  ASSERT_EQ(all.names.size(), 2u);
  EXPECT_TRUE(all.eof);
  ASSIGN_OR_FAIL(XattrListResult end, ns_->ListXattrs(f, all.names[1].cookie, 10));
  EXPECT_TRUE(end.names.empty());
  EXPECT_TRUE(end.eof);
  EXPECT_CODE(ns_->ListXattrs(f, all.names[1].cookie + 1, 10), Code::kInvalid);
  EXPECT_CODE(ns_->ListXattrs(f, 0, 0), Code::kInvalid);
  EXPECT_CODE(ns_->ListXattrs(f, 0, kListXattrsNamesMax + 1), Code::kInvalid);
  // A removed name's cookie still continues the listing (the next names follow).
  ASSERT_OK(ns_->RemoveXattr(f, "user.a"));
  ASSIGN_OR_FAIL(XattrListResult after, ns_->ListXattrs(f, all.names[0].cookie, 10));
  ASSERT_EQ(after.names.size(), 1u);
  EXPECT_EQ(after.names[0].name, "user.b");
}

TEST_F(XattrTest, XattrsGoWithTheLastLinkOnly) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(Set(f, "user.a", "1"));
  ASSERT_OK(Set(f, "user.b", "2"));
  ASSERT_OK(ns_->Link(f, kRootFileId, "g"));
  ASSERT_OK(ns_->Remove(kRootFileId, "f"));
  EXPECT_EQ(AllNames(f), (std::vector<std::string>{"user.a", "user.b"}));
  ASSIGN_OR_FAIL(RemoveResult r, ns_->Remove(kRootFileId, "g"));
  EXPECT_TRUE(r.unlinked.dropped);
  EXPECT_CODE(ns_->GetXattr(f, "user.a"), Code::kStale);
  EXPECT_CODE(ns_->ListXattrs(f, 0, 10), Code::kStale);
  EXPECT_CODE(Set(f, "user.a", "1"), Code::kStale);
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.xattrs, 0u);
}

TEST_F(XattrTest, RenameOverAFileAndRmdirDropTheirXattrs) {
  FileId victim = MakeFile(kRootFileId, "victim");
  MakeFile(kRootFileId, "src");
  FileId dir = MakeDir(kRootFileId, "d");
  ASSERT_OK(Set(victim, "user.v", "1"));
  ASSERT_OK(Set(dir, "user.d", "1"));
  ASSIGN_OR_FAIL(XattrListResult on_dir, ns_->ListXattrs(dir, 0, 10));
  EXPECT_EQ(on_dir.names.size(), 1u);
  ASSIGN_OR_FAIL(RenameResult rn, ns_->Rename(kRootFileId, "src", kRootFileId, "victim"));
  ASSERT_TRUE(rn.replaced && rn.replaced->dropped);
  ASSERT_OK(ns_->RmDir(kRootFileId, "d"));
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.xattrs, 0u);
}

TEST_F(XattrTest, XattrsSurviveAReopen) {
  sync_ = true;
  Reopen();
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(Set(f, "user.kept", "value"));
  ASSERT_OK(Set(f, "user.removed", "value"));
  ASSERT_OK(ns_->RemoveXattr(f, "user.removed"));
  Reopen();
  ASSIGN_OR_FAIL(std::string v, ns_->GetXattr(f, "user.kept"));
  EXPECT_EQ(v, "value");
  EXPECT_EQ(AllNames(f), std::vector<std::string>{"user.kept"});
}

// Writers of one inode's xattrs serialize on its lock: none is lost, and a remove of the file
// racing with them leaves no orphan (fsck), whichever commits first.
TEST_F(XattrTest, ConcurrentWritersAndARacingRemoveLeaveNoOrphan) {
  FileId f = MakeFile(kRootFileId, "f");
  constexpr int kThreads = 4, kNames = 50;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; t++) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kNames; i++) {
        EXPECT_OK(Set(f, "user.t" + std::to_string(t) + "." + std::to_string(i), "v"));
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(Get(f).xattr_count, uint32_t{kThreads * kNames});
  EXPECT_EQ(AllNames(f, 64).size(), size_t{kThreads * kNames});

  FileId g = MakeFile(kRootFileId, "g");
  std::atomic<bool> stale{false};
  std::thread setter([&] {
    for (int i = 0; !stale; i++) {
      Status s = Set(g, "user." + std::to_string(i % 2000), "v");
      if (s.code() == Code::kStale)
        stale = true;
      else if (!s.ok() && s.code() != Code::kNoSpace)
        ADD_FAILURE() << s.ToString();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Status removed = ns_->Remove(kRootFileId, "g").status();
  if (!removed.ok()) stale = true;  // or the setter would never stop
  setter.join();
  ASSERT_OK(removed);
  ASSIGN_OR_FAIL(FsckCounts counts, ns_->Check(testing::kFsckInodesMax));
  EXPECT_EQ(counts.xattrs, uint64_t{kThreads * kNames});  // only f's
}

// fsck knows the family: an xattr whose inode is gone, or counts that disagree with the
// records, are corruption.
TEST_F(XattrTest, FsckFindsOrphanXattrs) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(Set(f, "user.a", "1"));
  ns_.reset();
  {
    RocksKvOptions o;
    o.sync_commits = false;
    ASSIGN_OR_FAIL(std::unique_ptr<RocksKv> kv, RocksKv::Open(dir_.path(), o));
    auto txn = kv->BeginTxn();
    ASSERT_OK(
        txn->Put(Cf::kXattrs, XattrKey(f + 1000, "user.orphan"), EncodeXattr(XattrRecord{1, "x"})));
    ASSERT_OK(
        txn->Put(Cf::kXattrCookies, XattrCookieKey(f + 1000, 1), EncodeXattrCookie("user.orphan")));
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  EXPECT_CODE(ns_->Check(testing::kFsckInodesMax), Code::kCorruption);
  ns_.reset();  // the fixture's own fsck would fail on purpose-made corruption
}

TEST_F(XattrTest, FsckFindsCountsThatDisagree) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(Set(f, "user.a", "1"));
  ns_.reset();
  {
    RocksKvOptions o;
    o.sync_commits = false;
    ASSIGN_OR_FAIL(std::unique_ptr<RocksKv> kv, RocksKv::Open(dir_.path(), o));
    auto txn = kv->BeginTxn();
    ASSERT_OK(txn->Delete(Cf::kXattrCookies, XattrCookieKey(f, 1)));
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  EXPECT_CODE(ns_->Check(testing::kFsckInodesMax), Code::kCorruption);
  ns_.reset();
}

}  // namespace
}  // namespace manifold::meta
