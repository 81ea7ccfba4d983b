// Concurrency: many threads mutating one directory, with real RocksDB lock contention and with
// injected conflicts that force the runner to retry. No acknowledged entry may be lost, no
// fileid handed out twice, and fsck must pass afterwards.
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "faulty_kv.h"
#include "meta/rocks_kv.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

constexpr int kThreads = 8;

// Each thread creates `per_thread` files in `dir`; returns the acknowledged fileids.
std::vector<FileId> CreateStorm(Namespace& ns, FileId dir, int per_thread) {
  std::mutex mu;
  std::vector<FileId> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; i++) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        Result<CreateResult> r = ns.Create(dir, name, testing::FileArgs());
        EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
        if (!r.ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        acked.push_back(r->inode.fileid);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return acked;
}

class ConcurrencyTest : public testing::NamespaceFixture {};

TEST_F(ConcurrencyTest, EightThreadsCreateInOneDirectoryDurablyAndLoseNothing) {
  sync_ = true;
  Reopen();
  FileId d = MakeDir(kRootFileId, "shared");
  constexpr int kPerThread = 40;
  std::vector<FileId> acked = CreateStorm(*ns_, d, kPerThread);
  ASSERT_EQ(acked.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(std::set<FileId>(acked.begin(), acked.end()).size(), acked.size());
  Reopen();
  EXPECT_EQ(Names(d).size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(Get(d).size_bytes, uint64_t{kThreads * kPerThread});
}

TEST_F(ConcurrencyTest, InjectedConflictsAreRetriedWithoutLostOrDuplicateEntries) {
  const uint64_t seed = testing::TestSeed();
  ns_.reset();
  RocksKvOptions kvo;
  kvo.sync_commits = false;
  ASSIGN_OR_FAIL(std::unique_ptr<RocksKv> rocks, RocksKv::Open(dir_.path(), kvo));
  auto faulty = std::make_unique<testing::FaultyKv>(std::move(rocks),
                                                    testing::FaultyKvOptions{200, 100, seed});
  testing::FaultyKv* faults = faulty.get();
  NamespaceOptions o = Options();
  o.runner.txn_attempts_max = 32;
  o.runner.retry_backoff_base_us = 10;
  ASSIGN_OR_FAIL(ns_, Namespace::OpenKv(std::move(faulty), o));
  FileId d = MakeDir(kRootFileId, "shared");
  constexpr int kPerThread = 100;
  std::vector<FileId> acked = CreateStorm(*ns_, d, kPerThread);
  ASSERT_EQ(acked.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(std::set<FileId>(acked.begin(), acked.end()).size(), acked.size());
  EXPECT_EQ(Names(d).size(), size_t{kThreads * kPerThread});
  EXPECT_GT(faults->injected(), 0u);
  EXPECT_GT(ns_->runner_stats().conflicts.load(), 0u);
  std::fprintf(stderr, "[ figures  ] %llu injected conflicts, %llu retried attempts\n",
               static_cast<unsigned long long>(faults->injected()),
               static_cast<unsigned long long>(ns_->runner_stats().conflicts.load()));
}

// Random creates, links, renames (across directories too) and removes from several threads.
// Only namespace outcomes are acceptable errors; fsck (teardown) checks every invariant.
TEST_F(ConcurrencyTest, MixedStormKeepsEveryInvariant) {
  const uint64_t seed = testing::TestSeed();
  std::vector<FileId> dirs;
  for (int i = 0; i < 4; i++) dirs.push_back(MakeDir(kRootFileId, "d" + std::to_string(i)));
  dirs.push_back(kRootFileId);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + t);
      auto dir = [&] { return dirs[rng() % dirs.size()]; };
      auto name = [&] { return "n" + std::to_string(rng() % 24); };
      for (int i = 0; i < 300; i++) {
        Status s;
        switch (rng() % 7) {
          case 0: s = ns_->Create(dir(), name(), testing::FileArgs()).status(); break;
          case 1: s = ns_->Create(dir(), name(), testing::DirArgs()).status(); break;
          case 2: s = ns_->Unlink(dir(), name()).status(); break;
          case 3:
          case 4: s = ns_->Rename(dir(), name(), dir(), name()).status(); break;
          case 5: {
            Result<Inode> f = ns_->Lookup(dir(), name());
            if (f.ok()) s = ns_->Link(f->fileid, dir(), name()).status();
            break;
          }
          case 6: s = ns_->ReadDir(dir(), 0, 10).status(); break;
        }
        const Code c = s.code();
        EXPECT_TRUE(s.ok() || c == Code::kNotFound || c == Code::kExists || c == Code::kNotEmpty ||
                    c == Code::kIsDir || c == Code::kNotDir || c == Code::kInvalid ||
                    c == Code::kStale)
            << s.ToString() << " seed " << seed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace manifold::meta
