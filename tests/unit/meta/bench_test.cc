// Quick benchmark, not a timed assertion: creates per second with every commit synced, from one
// thread, from 8 threads into one directory (serialized on the directory inode's lock, see
// docs/schema.md) and from 8 threads into 8 directories (group commit: one WAL fsync covers
// many commits). Each figure comes with the number of creates per file sync, counted by a
// pass-through FileSystem, which shows group commit independently of this machine's fsync
// latency. Lookups per second for reference. Scale with MANIFOLD_META_BENCH_OPS.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <chrono>
#include <thread>

#include "fault_fs.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

using Clock = std::chrono::steady_clock;

int OpsPerCase() {
  const char* env = ::getenv("MANIFOLD_META_BENCH_OPS");
  return env && *env ? std::atoi(env) : 400;
}

class CreateBench : public testing::NamespaceFixture {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<testing::PowerLossFs>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    NamespaceFixture::SetUp();
  }
  void TearDown() override {
    NamespaceFixture::TearDown();
    ns_.reset();
  }
  NamespaceOptions Options() override {
    NamespaceOptions o = NamespaceFixture::Options();
    o.kv.env = env_.get();
    o.kv.early_lock_release = early_lock_release_;
    return o;
  }
  // `threads` threads create ops/threads files each; thread t uses dirs[t % dirs.size()].
  double CreatesPerSecond(int threads, const std::vector<FileId>& dirs, int ops) {
    const uint64_t syncs_before = fs_->syncs();
    auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
      pool.emplace_back([&, t] {
        for (int i = 0; i < ops / threads; i++) {
          std::string name = "b" + std::to_string(t) + "-" + std::to_string(i);
          Status s = ns_->Create(dirs[t % dirs.size()], name, testing::FileArgs()).status();
          EXPECT_TRUE(s.ok()) << s.ToString();
        }
      });
    }
    for (std::thread& t : pool) t.join();
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    const uint64_t syncs = fs_->syncs() - syncs_before;
    creates_per_sync_ = syncs ? double((ops / threads) * threads) / syncs : 0;
    return (ops / threads) * threads / s;
  }
  void Report(const char* what, double per_s) {
    std::fprintf(stderr, "[ figures  ] %-48s %9.0f /s  %5.2f creates per file sync\n", what, per_s,
                 creates_per_sync_);
    RecordProperty(what, std::to_string(static_cast<long>(per_s)));
  }

  std::shared_ptr<testing::PowerLossFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  double creates_per_sync_ = 0;
  bool early_lock_release_ = false;
};

TEST_F(CreateBench, SyncedCreatesPerSecond) {
  sync_ = true;
  Reopen();
  const int ops = OpsPerCase();
  std::vector<FileId> one{MakeDir(kRootFileId, "one")};
  std::vector<FileId> eight;
  for (int i = 0; i < 8; i++) eight.push_back(MakeDir(kRootFileId, "d" + std::to_string(i)));
  std::vector<FileId> solo{MakeDir(kRootFileId, "solo")};
  Report("create, sync, 1 thread", CreatesPerSecond(1, solo, ops));
  Report("create, sync, 8 threads, one directory", CreatesPerSecond(8, one, ops));
  Report("create, sync, 8 threads, 8 directories", CreatesPerSecond(8, eight, ops));
}

TEST_F(CreateBench, SyncedCreatesPerSecondWithEarlyLockRelease) {
  sync_ = true;
  early_lock_release_ = true;
  Reopen();
  const int ops = OpsPerCase();
  std::vector<FileId> one{MakeDir(kRootFileId, "one")};
  std::vector<FileId> eight;
  for (int i = 0; i < 8; i++) eight.push_back(MakeDir(kRootFileId, "d" + std::to_string(i)));
  std::vector<FileId> solo{MakeDir(kRootFileId, "solo")};
  Report("create, ELR, 1 thread", CreatesPerSecond(1, solo, ops));
  Report("create, ELR, 8 threads, one directory", CreatesPerSecond(8, one, ops));
  Report("create, ELR, 8 threads, 8 directories", CreatesPerSecond(8, eight, ops));
}

TEST_F(CreateBench, UnsyncedCreatesAndLookupsPerSecond) {
  const int ops = OpsPerCase() * 25;
  std::vector<FileId> dir{MakeDir(kRootFileId, "d")};
  Report("create, no sync (CPU + RocksDB cost), 1 thread", CreatesPerSecond(1, dir, ops));
  auto start = Clock::now();
  for (int i = 0; i < ops; i++) {
    Status s = ns_->Lookup(dir[0], "b0-" + std::to_string(i)).status();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Report("lookup, 1 thread", ops / std::chrono::duration<double>(Clock::now() - start).count());
}

}  // namespace
}  // namespace manifold::meta
