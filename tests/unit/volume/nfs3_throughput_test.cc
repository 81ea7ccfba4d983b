// A throughput check, not a benchmark: 64 MiB written (1 MiB UNSTABLE WRITEs + COMMIT) and
// read back through Nfs3Volume's async API with 16 requests in flight, against a manifold-ds
// process on loopback. Prints MiB/s; asserts only that the data came back intact (timings on
// a shared 2-core machine are not a pass/fail signal).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>

#include "test_servers.h"
#include "volume/nfs3_volume.h"

namespace manifold::volume {
namespace {

constexpr uint32_t kMiB = 1u << 20;
constexpr uint32_t kTotalMiB = 64;
constexpr int kInflight = 16;

// Runs `issue(i, done)` for i in [0, n) with at most kInflight outstanding; returns seconds.
template <typename Issue>
double RunWindowed(uint32_t n, Issue issue) {
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return outstanding < kInflight; });
      ++outstanding;
    }
    issue(i, [&] {
      std::lock_guard<std::mutex> l(mu);
      --outstanding;
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return outstanding == 0; });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Nfs3VolumeThroughput, Write64MiBThenRead64MiBWith16InFlight) {
  if (::geteuid() != 0) GTEST_SKIP() << "manifold-ds must run as root";
  testing::TempDir exp("volume-tput"), logs("volume-tput-logs");
  auto ds = testing::DsProcess::Start(exp.path(), logs.path() + "/ds.log");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  auto v = Nfs3Volume::Open(testing::DsUrl(**ds, exp.path(), "data"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  Nfs3Volume& vol = **v;
  auto h = vol.Create("big");
  ASSERT_TRUE(h.ok()) << h.status().ToString();

  std::vector<uint8_t> data(size_t(kTotalMiB) * kMiB);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t x = rng();
    std::memcpy(&data[i], &x, 8);
  }
  std::atomic<int> errors{0};
  double write_s = RunWindowed(kTotalMiB, [&](uint32_t i, auto release) {
    std::span<const uint8_t> chunk(data.data() + size_t(i) * kMiB, kMiB);
    vol.WriteAsync(*h, uint64_t(i) * kMiB, chunk, Stability::kUnstable,
                   [&, release](Result<WriteResult> r) {
                     if (!r.ok() || r->count_bytes != kMiB) ++errors;
                     release();
                   });
  });
  auto commit_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(vol.Commit(*h, 0, 0).ok());
  double commit_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count();
  std::vector<uint8_t> back(data.size());
  double read_s = RunWindowed(kTotalMiB, [&](uint32_t i, auto release) {
    vol.ReadAsync(*h, uint64_t(i) * kMiB, kMiB, [&, i, release](Result<ReadResult> r) {
      if (!r.ok() || r->data.size() != kMiB)
        ++errors;
      else
        std::memcpy(back.data() + size_t(i) * kMiB, r->data.data(), kMiB);
      release();
    });
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_TRUE(back == data);
  std::printf(
      "[ throughput ] write %u MiB: %.3f s, %.0f MiB/s (then COMMIT %.3f s: %.0f MiB/s "
      "durable)\n",
      kTotalMiB, write_s, kTotalMiB / write_s, commit_s, kTotalMiB / (write_s + commit_s));
  std::printf("[ throughput ] read  %u MiB: %.3f s, %.0f MiB/s (1 MiB requests, %d in flight)\n",
              kTotalMiB, read_s, kTotalMiB / read_s, kInflight);
}

}  // namespace
}  // namespace manifold::volume
