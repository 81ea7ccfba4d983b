// The namespace test fixture: a store in a temp dir with a fake clock, helpers to build trees
// and list directories, and fsck after every test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "meta/namespace.h"
#include "test_util.h"

namespace manifold::meta::testing {

// A clock the test moves: each reading is one microsecond later than the last, so every
// mutation gets a distinct, increasing time.
class FakeClock {
 public:
  Timespec Now() {
    uint64_t us = now_us_.fetch_add(1) + 1;
    return Timespec{static_cast<int64_t>(us / 1000000), static_cast<uint32_t>(us % 1000000) * 1000};
  }
  void AdvanceSeconds(uint64_t s) { now_us_ += s * 1000000; }

 private:
  std::atomic<uint64_t> now_us_{uint64_t{1700000000} * 1000000};
};

inline CreateArgs FileArgs(uint32_t mode = 0644) {
  CreateArgs a;
  a.type = FileType::kReg;
  a.mode = mode;
  return a;
}

inline CreateArgs DirArgs(uint32_t mode = 0755) {
  CreateArgs a;
  a.type = FileType::kDir;
  a.mode = mode;
  return a;
}

// Every name in a directory, paging through ReadDir with `page` entries per call.
inline Result<std::vector<DirEntry>> ListAll(Namespace& ns, FileId dir, uint32_t page = 100) {
  std::vector<DirEntry> out;
  uint64_t cookie = 0;
  for (;;) {
    Result<ReadDirResult> r = ns.ReadDir(dir, cookie, page);
    if (!r.ok()) return r.status();
    for (DirEntry& e : r->entries) {
      cookie = e.cookie;
      out.push_back(std::move(e));
    }
    if (r->eof) return out;
  }
}

inline constexpr uint64_t kFsckInodesMax = 10'000'000;

// A namespace in a temp dir with a fake clock; fsck on teardown. Commits are not synced here
// (durability has its own tests); set sync_ before Reopen() to change that.
class NamespaceFixture : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    if (ns_) {
      Result<FsckCounts> counts = ns_->Check(kFsckInodesMax);
      EXPECT_TRUE(counts.ok()) << counts.status().ToString();
    }
  }
  virtual NamespaceOptions Options() {
    NamespaceOptions o;
    o.kv.sync_commits = sync_;
    o.clock = [this] { return clock_.Now(); };
    return o;
  }
  void Reopen() {
    ns_.reset();
    Result<std::unique_ptr<Namespace>> ns = Namespace::Open(dir_.path(), Options());
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
  }
  FileId MakeFile(FileId parent, const std::string& name) {
    Result<CreateResult> r = ns_->Create(parent, name, FileArgs());
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? r->inode.fileid : 0;
  }
  FileId MakeDir(FileId parent, const std::string& name) {
    Result<CreateResult> r = ns_->Create(parent, name, DirArgs());
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? r->inode.fileid : 0;
  }
  Inode Get(FileId fileid) {
    Result<Inode> r = ns_->GetInode(fileid);
    EXPECT_TRUE(r.ok()) << fileid << ": " << r.status().ToString();
    return r.ok() ? *r : Inode{};
  }
  std::vector<std::string> Names(FileId dir) {
    std::vector<std::string> names;
    Result<std::vector<DirEntry>> all = ListAll(*ns_, dir);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    if (all.ok())
      for (DirEntry& e : *all) names.push_back(e.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool sync_ = false;
  FakeClock clock_;
  TempDir dir_;
  std::unique_ptr<Namespace> ns_;
};

}  // namespace manifold::meta::testing
