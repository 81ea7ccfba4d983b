// Nfs3Volume against a real manifold-ds process on loopback: every operation of the Volume
// seam, concurrency through the async API, and the failure modes the MDS must survive (a
// removed file, a bad URL, a server that dies, hangs, or is flooded).
#include "volume/nfs3_volume.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "test_servers.h"

namespace manifold::volume {
namespace {

using namespace std::chrono_literals;
using testing::DsProcess;
using testing::TempDir;
using Bytes = std::vector<uint8_t>;

constexpr uint32_t kMiB = 1u << 20;
constexpr auto kTestTimeout = 2000ms;  // request_timeout of the volumes under test

Bytes Pattern(size_t size_bytes, uint32_t seed) {
  Bytes b(size_bytes);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

Bytes HostFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Waits for N callbacks.
class Latch {
 public:
  explicit Latch(size_t n) : n_(n) {}
  void CountDown() {
    std::lock_guard<std::mutex> l(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t n_;
};

// A counting semaphore that bounds requests in flight from one submitting thread.
class Window {
 public:
  explicit Window(int slots) : free_(slots) {}
  void Acquire() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    ++free_;
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

class Nfs3VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "manifold-ds must run as root";
    ASSERT_FALSE(export_.path().empty());
    auto ds = DsProcess::Start(export_.path(), logs_.path() + "/ds.log");
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    ds_ = std::move(*ds);
    volume_ = OpenVolume(url());
  }

  std::string url() const { return testing::DsUrl(*ds_, export_.path(), "data"); }
  std::string HostPath(const std::string& name) const { return export_.path() + "/data/" + name; }

  std::unique_ptr<Nfs3Volume> OpenVolume(const std::string& u, Nfs3VolumeOptions o = {}) {
    o.request_timeout = kTestTimeout;
    auto v = Nfs3Volume::Open(u, o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(*v) : nullptr;
  }

  DataHandle MustCreate(const std::string& name) {
    auto h = volume_->Create(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : DataHandle{};
  }

  TempDir export_{"volume-export"};
  TempDir logs_{"volume-logs"};
  std::unique_ptr<DsProcess> ds_;
  std::unique_ptr<Nfs3Volume> volume_;
};

TEST_F(Nfs3VolumeTest, OpenMakesTheDataDirectoryAndReportsLimits) {
  struct stat st {};
  ASSERT_EQ(::stat((export_.path() + "/data").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_GT(volume_->io_limits().read_bytes_max, 0u);
  EXPECT_LE(volume_->io_limits().write_bytes_max, kMiB);
  EXPECT_EQ(volume_->url(), url());
  // A nested data directory is created component by component.
  auto nested = OpenVolume(testing::DsUrl(*ds_, export_.path(), "a/b/c"));
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(::stat((export_.path() + "/a/b/c").c_str(), &st), 0);
}

TEST_F(Nfs3VolumeTest, Write4MiBUnstableCommitReadBackMatches) {
  DataHandle h = MustCreate("f-4mib");
  EXPECT_FALSE(h.fh.empty());
  Bytes data = Pattern(4 * kMiB, 1);
  std::optional<Verifier> verf;
  for (uint32_t i = 0; i < 4; ++i) {
    std::span<const uint8_t> chunk(data.data() + i * kMiB, kMiB);
    auto w = volume_->Write(h, uint64_t(i) * kMiB, chunk, Stability::kUnstable);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(w->count_bytes, kMiB);
    if (verf) {
      EXPECT_EQ(w->verifier, *verf) << "verifier changed between writes";
    }
    verf = w->verifier;
  }
  auto c = volume_->Commit(h, 0, 0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, *verf) << "COMMIT verifier differs from the writes': the server restarted?";

  Bytes back;
  bool eof = false;
  while (!eof && back.size() < data.size() + kMiB) {
    auto r = volume_->Read(h, back.size(), kMiB);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    back.insert(back.end(), r->data.begin(), r->data.end());
    eof = r->eof;
  }
  EXPECT_TRUE(eof);
  EXPECT_TRUE(back == data) << "read back differs";
  EXPECT_TRUE(HostFile(HostPath("f-4mib")) == data) << "file on the DS's disk differs";
}

TEST_F(Nfs3VolumeTest, ConcurrentAsyncWritesAndReadsFrom8Threads) {
  constexpr int kThreads = 8, kWindowPerThread = 8;  // 64 in flight
  constexpr int kBlocksPerThread = 32;
  constexpr uint32_t kBlockBytes = 64 << 10;
  DataHandle h = MustCreate("f-concurrent");
  Bytes data = Pattern(size_t(kThreads) * kBlocksPerThread * kBlockBytes, 2);
  std::atomic<int> write_errors{0}, read_errors{0}, mismatches{0};
  Latch writes(kThreads * kBlocksPerThread), reads(kThreads * kBlocksPerThread);
  auto run = [&](bool write) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Window window(kWindowPerThread);
        for (int b = 0; b < kBlocksPerThread; ++b) {
          window.Acquire();
          uint64_t off = (uint64_t(b) * kThreads + t) * kBlockBytes;  // interleaved blocks
          if (write) {
            volume_->WriteAsync(h, off, std::span<const uint8_t>(data.data() + off, kBlockBytes),
                                Stability::kUnstable, [&, off](Result<WriteResult> r) {
                                  if (!r.ok() || r->count_bytes != kBlockBytes) ++write_errors;
                                  window.Release();
                                  writes.CountDown();
                                });
          } else {
            volume_->ReadAsync(h, off, kBlockBytes, [&, off](Result<ReadResult> r) {
              if (!r.ok()) {
                ++read_errors;
              } else if (!std::equal(r->data.begin(), r->data.end(), data.begin() + off) ||
                         r->data.size() != kBlockBytes) {
                ++mismatches;
              }
              window.Release();
              reads.CountDown();
            });
          }
        }
        // `window` lives on this stack: wait for this thread's requests before leaving.
        for (int i = 0; i < kWindowPerThread; ++i) window.Acquire();
      });
    }
    for (auto& th : threads) th.join();
  };
  run(true);
  ASSERT_TRUE(writes.Wait(30s));
  EXPECT_EQ(write_errors.load(), 0);
  ASSERT_TRUE(volume_->Commit(h, 0, 0).ok());
  run(false);
  ASSERT_TRUE(reads.Wait(30s));
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_TRUE(HostFile(HostPath("f-concurrent")) == data);
  Nfs3VolumeStats s = volume_->stats();
  EXPECT_GE(s.requests_started, 2u * kThreads * kBlocksPerThread);
  EXPECT_EQ(s.requests_failed_unavailable, 0u);
  EXPECT_EQ(s.inflight, 0u);
}

TEST_F(Nfs3VolumeTest, TruncateAndGetAttr) {
  DataHandle h = MustCreate("f-trunc");
  Bytes data = Pattern(100000, 3);
  ASSERT_TRUE(volume_->Write(h, 0, data, Stability::kFileSync).ok());
  auto a = volume_->GetAttr(h);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size_bytes, 100000u);
  EXPECT_EQ(a->uid, 0u);
  EXPECT_EQ(a->gid, 0u);
  EXPECT_EQ(a->mode, kDataFileMode);
  EXPECT_GT(a->mtime_ns, 1600000000LL * 1000000000LL);
  EXPECT_GT(a->used_bytes, 0u);

  ASSERT_TRUE(volume_->Truncate(h, 10).ok());
  a = volume_->GetAttr(h);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size_bytes, 10u);
  struct stat st {};
  ASSERT_EQ(::stat(HostPath("f-trunc").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10);

  ASSERT_TRUE(volume_->Truncate(h, 5 * kMiB).ok());  // extending leaves a hole
  EXPECT_EQ(volume_->GetAttr(h)->size_bytes, 5u * kMiB);
  auto r = volume_->Read(h, 10, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data, Bytes(100, 0));
}

TEST_F(Nfs3VolumeTest, SetOwnerReownsTheFileOnDiskAndFencesTheOldIds) {
  DataHandle h = MustCreate("f-owner");
  // A client's synthetic identity for this file, as a flexfile layout would hand it out.
  ASSERT_TRUE(volume_->SetOwner(h, 40001, 40002).ok());
  struct stat st {};
  ASSERT_EQ(::stat(HostPath("f-owner").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 40001u);
  EXPECT_EQ(st.st_gid, 40002u);
  EXPECT_EQ(volume_->GetAttr(h)->uid, 40001u);

  // I/O as that identity (what the client's flexfile driver does) works... A client uses
  // the handle alone; this test's second volume also LOOKUPs the data directory on Open, so
  // the export's root (mkdtemp: 0700) must let other ids through.
  ASSERT_EQ(::chmod(export_.path().c_str(), 0755), 0);
  auto as_client = OpenVolume(url() + "&uid=40001&gid=40002");
  ASSERT_NE(as_client, nullptr);
  Bytes data = Pattern(4096, 4);
  auto w = as_client->Write(h, 0, data, Stability::kFileSync);
  ASSERT_TRUE(w.ok()) << w.status().ToString();

  // ...until the MDS rotates the ids (fencing): the old identity is refused.
  ASSERT_TRUE(volume_->SetOwner(h, 40011, 40012).ok());
  ASSERT_EQ(::stat(HostPath("f-owner").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 40011u);
  EXPECT_EQ(st.st_gid, 40012u);
  w = as_client->Write(h, 0, data, Stability::kFileSync);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kPermission) << w.status().ToString();
  auto r = as_client->Read(h, 0, 4096);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission) << r.status().ToString();
}

TEST_F(Nfs3VolumeTest, CreateLookupRemove) {
  DataHandle h = MustCreate("f-life");
  auto again = volume_->Create("f-life");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kExists) << again.status().ToString();
  auto found = volume_->Lookup("f-life");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->fh, h.fh);

  ASSERT_TRUE(volume_->Remove(h).ok());
  EXPECT_NE(::access(HostPath("f-life").c_str(), F_OK), 0);
  Status gone = volume_->Remove(h);
  EXPECT_EQ(gone.code(), Code::kNotFound) << gone.ToString();
  EXPECT_EQ(volume_->Lookup("f-life").status().code(), Code::kNotFound);
}

TEST_F(Nfs3VolumeTest, ReadOfARemovedFileIsNotFoundOrStale) {
  DataHandle h = MustCreate("f-removed");
  ASSERT_TRUE(volume_->Write(h, 0, Pattern(10, 5), Stability::kFileSync).ok());
  ASSERT_TRUE(volume_->Remove(h).ok());
  auto r = volume_->Read(h, 0, 10);
  ASSERT_FALSE(r.ok());
  Code code = r.status().code();
  // kStale where common/status.h has it (see volume/nfs3_status.cc), else kNotFound.
  EXPECT_TRUE(code == Code::kNotFound || std::string(CodeName(code)) == "stale")
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("NFS3ERR_STALE"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("READ f-removed"), std::string::npos);
}

TEST_F(Nfs3VolumeTest, SpaceMatchesTheHostFileSystem) {
  auto s = volume_->Space();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_GT(s->total_bytes, 0u);
  EXPECT_LE(s->free_bytes, s->total_bytes);
  EXPECT_LE(s->available_bytes, s->free_bytes);
}

TEST_F(Nfs3VolumeTest, BadArgumentsAreInvalidWithoutARoundTrip) {
  EXPECT_EQ(volume_->Create("").status().code(), Code::kInvalid);
  EXPECT_EQ(volume_->Create("a/b").status().code(), Code::kInvalid);
  EXPECT_EQ(volume_->Create("..").status().code(), Code::kInvalid);
  EXPECT_EQ(volume_->Create(std::string(256, 'x')).status().code(), Code::kInvalid);
  DataHandle empty{{}, "x"};
  EXPECT_EQ(volume_->Read(empty, 0, 1).status().code(), Code::kInvalid);
  DataHandle h = MustCreate("f-big");
  uint64_t started = volume_->stats().requests_started;
  Bytes too_big(volume_->io_limits().write_bytes_max + 1);
  auto w = volume_->Write(h, 0, too_big, Stability::kUnstable);
  EXPECT_EQ(w.status().code(), Code::kInvalid) << w.status().ToString();
  EXPECT_EQ(volume_->stats().requests_started, started) << "refused before any RPC";
}

TEST_F(Nfs3VolumeTest, OpenWithABadUrlIsInvalid) {
  auto v = Nfs3Volume::Open("nfs://127.0.0.1:notaport/x");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kInvalid);
  EXPECT_NE(v.status().message().find("port 'notaport'"), std::string::npos)
      << v.status().ToString();
}

TEST_F(Nfs3VolumeTest, OpenOfAnUnknownExportFails) {
  auto v = Nfs3Volume::Open("nfs://127.0.0.1:" + std::to_string(ds_->port()) + "/no/such");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().code(), Code::kUnavailable) << v.status().ToString();
  EXPECT_NE(v.status().message().find("MNT"), std::string::npos) << v.status().ToString();
}

TEST_F(Nfs3VolumeTest, OpenWithNoServerIsUnavailable) {
  uint16_t port = testing::FreeLoopbackPort();
  auto start = std::chrono::steady_clock::now();
  auto v = Nfs3Volume::Open("nfs://127.0.0.1:" + std::to_string(port) + export_.path());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kUnavailable) << v.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// SIGKILL while 64 writes are in flight: every one completes (ok or kUnavailable) well within
// the timeout; with the server down requests fail fast; after a restart on the same port the
// old handle works and the data written FILE_SYNC before the crash is there.
TEST_F(Nfs3VolumeTest, ServerKilledMidStreamThenRestarted) {
  DataHandle h = MustCreate("f-crash");
  Bytes durable = Pattern(kMiB, 6);
  ASSERT_TRUE(volume_->Write(h, 0, durable, Stability::kFileSync).ok());
  constexpr int kWrites = 512;
  constexpr uint32_t kBlockBytes = 256 << 10;
  Bytes block = Pattern(kBlockBytes, 7);
  std::atomic<int> ok{0}, unavailable{0}, other{0};
  Latch all(kWrites);
  Window window(64);
  std::thread killer;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kWrites; ++i) {
    window.Acquire();
    if (i == 128) killer = std::thread([&] { ds_->Kill(); });
    volume_->WriteAsync(h, kMiB + uint64_t(i % 64) * kBlockBytes, block, Stability::kUnstable,
                        [&](Result<WriteResult> r) {
                          if (r.ok())
                            ++ok;
                          else if (r.status().code() == Code::kUnavailable)
                            ++unavailable;
                          else
                            ++other;
                          window.Release();
                          all.CountDown();
                        });
  }
  ASSERT_TRUE(all.Wait(kTestTimeout + 5s));
  killer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kTestTimeout + 5s);
  EXPECT_GE(ok.load(), 64);
  EXPECT_GT(unavailable.load(), 0);
  EXPECT_EQ(other.load(), 0);

  auto down = volume_->Read(h, 0, 10);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();

  ASSERT_TRUE(ds_->Restart().ok());
  auto r = volume_->Read(h, 0, kMiB);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->data == durable);
  EXPECT_GE(volume_->stats().connects, 2u);
}

// SIGSTOP: the server holds the connection but answers nothing. The request fails with
// kUnavailable once the timeout passes, not before and not much after; after SIGCONT the
// next request reconnects and succeeds.
TEST_F(Nfs3VolumeTest, HungServerTimesOutThenRecovers) {
  DataHandle h = MustCreate("f-hung");
  ASSERT_TRUE(volume_->Write(h, 0, Pattern(100, 8), Stability::kFileSync).ok());
  ds_->Freeze();
  auto start = std::chrono::steady_clock::now();
  auto r = volume_->Read(h, 0, 100);
  auto took = std::chrono::steady_clock::now() - start;
  ds_->Unfreeze();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("no reply within"), std::string::npos);
  EXPECT_GE(took, kTestTimeout - 50ms);
  EXPECT_LT(took, kTestTimeout + 1s);
  EXPECT_EQ(volume_->stats().requests_timed_out, 1u);
  auto again = volume_->Read(h, 0, 100);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->data, Pattern(100, 8));
}

TEST_F(Nfs3VolumeTest, FullQueueRefusesAtOnce) {
  Nfs3VolumeOptions o;
  o.inflight_max = 1;
  o.queue_max = 2;
  auto small = OpenVolume(url(), o);
  ASSERT_NE(small, nullptr);
  DataHandle h = MustCreate("f-queue");
  ds_->Freeze();
  constexpr int kRequests = 10;
  std::atomic<int> refused{0}, timed_out{0};
  Latch all(kRequests);
  auto read = [&] {
    small->ReadAsync(h, 0, 10, [&](Result<ReadResult> r) {
      if (!r.ok() && r.status().message().find("queue full") != std::string::npos) {
        ++refused;
      } else if (!r.ok() && r.status().code() == Code::kUnavailable) {
        ++timed_out;
      }
      all.CountDown();
    });
  };
  read();
  for (int i = 0; i < 100 && small->stats().inflight == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(small->stats().inflight, 1u);
  for (int i = 1; i < kRequests; ++i) read();
  // One in flight, two queued, the other seven refused before ReadAsync returned.
  EXPECT_EQ(refused.load(), kRequests - 3);
  ASSERT_TRUE(all.Wait(kTestTimeout + 3s));
  ds_->Unfreeze();
  EXPECT_EQ(timed_out.load(), 3);
  EXPECT_EQ(small->stats().requests_refused, uint64_t(kRequests - 3));
  EXPECT_TRUE(small->Read(h, 0, 10).ok());
}

TEST_F(Nfs3VolumeTest, ClosingTheVolumeFailsWhatIsStillQueued) {
  DataHandle h = MustCreate("f-close");
  ds_->Freeze();
  std::atomic<int> unavailable{0};
  Latch all(4);
  for (int i = 0; i < 4; ++i) {
    volume_->ReadAsync(h, 0, 10, [&](Result<ReadResult> r) {
      if (!r.ok() && r.status().code() == Code::kUnavailable) ++unavailable;
      all.CountDown();
    });
  }
  volume_.reset();  // does not wait for the hung server
  ds_->Unfreeze();
  EXPECT_TRUE(all.Wait(1s));
  EXPECT_EQ(unavailable.load(), 4);
}

}  // namespace
}  // namespace manifold::volume
