// Many threads drive one StateManager at once: SEQUENCE and the reply cache, opens, byte-range
// locks and the expirer. Checks that a write lock on a shared range is held by one owner at a
// time and that everything is released at the end. Randomised: the seed is printed and
// MANIFOLD_TEST_SEED=<n> replays it (thread interleaving still varies).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

constexpr int kThreads = 6;
constexpr int kIterations = 400;
constexpr uint64_t kSharedFile = 1;

struct Worker {
  TestServer* server;
  MountedClient client;
  int index;
  uint64_t seed;
  std::atomic<int>* in_critical;
  std::atomic<int>* violations;
  std::atomic<int>* exclusive_entries;
  std::atomic<int>* failures;

  void Fail(const char* what, nfsstat4 st) {
    failures->fetch_add(1);
    ADD_FAILURE() << "worker " << index << " " << what << ": " << Nfs4StatName(st) << " (seed "
                  << seed << ")";
  }

  void Iteration(std::mt19937_64& rng, sequenceid4 seqid) {
    StateManager& s = **server;
    SequenceOutcome seq =
        s.Sequence(SeqArgs(client.session, seqid, 0), 100 + index, server->clock.Now(), {5, 500});
    if (seq.kind != SequenceOutcome::Kind::kExecute) return Fail("SEQUENCE", seq.status);
    std::string owner = "owner-" + std::to_string(index);
    OpenResult open = s.Open(OpenReq(client.clientid, owner, kSharedFile, OPEN4_SHARE_ACCESS_BOTH));
    if (open.status != NFS4_OK) return Fail("OPEN", open.status);
    std::string lock_owner = "lock-" + std::to_string(index);
    bool exclusive = rng() % 2 == 0;
    offset4 off = exclusive ? 1000 : static_cast<offset4>(index) * 10;
    LockResult lock = s.Lock(client.clientid, kSharedFile,
                             NewLockArgs(WRITE_LT, off, 10, open.stateid, lock_owner));
    if (lock.status == NFS4_OK) {
      if (exclusive) {
        exclusive_entries->fetch_add(1);
        if (in_critical->fetch_add(1) != 0) violations->fetch_add(1);
        std::this_thread::yield();
        in_critical->fetch_sub(1);
      }
      StateidResult u =
          s.Unlock(client.clientid, kSharedFile, LockuArgs(off, 10, lock.lock_stateid));
      if (u.status != NFS4_OK) return Fail("LOCKU", u.status);
    } else if (!(exclusive && lock.status == NFS4ERR_DENIED)) {
      return Fail("LOCK", lock.status);
    }
    StateidResult c = s.Close(client.clientid, kSharedFile, CloseArgs(WithSeqid(open.stateid, 0)));
    if (c.status != NFS4_OK) return Fail("CLOSE", c.status);
    seq.lease->Complete(std::vector<uint8_t>(16, static_cast<uint8_t>(seqid)));
    SequenceOutcome replay =
        s.Sequence(SeqArgs(client.session, seqid, 0), 100 + index, server->clock.Now(), {5, 500});
    if (replay.kind != SequenceOutcome::Kind::kReplay || replay.replay.size() != 16 ||
        replay.replay[0] != static_cast<uint8_t>(seqid)) {
      return Fail("replay", replay.status);
    }
  }

  void Run() {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(index));
    for (int i = 0; i < kIterations; ++i) Iteration(rng, static_cast<sequenceid4>(i + 1));
  }
};

TEST(Concurrency, ManyClientsAtOnceKeepLocksExclusiveAndReleaseEverything) {
  uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("MANIFOLD_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("Concurrency.ManyClientsAtOnce seed=%llu\n", static_cast<unsigned long long>(seed));
  TestServer server;
  std::atomic<int> in_critical{0}, violations{0}, exclusive_entries{0}, failures{0};
  std::vector<Worker> workers;
  for (int i = 0; i < kThreads; ++i) {
    workers.push_back({&server, Mount(server, "client-" + std::to_string(i), 1, 100 + i), i, seed,
                       &in_critical, &violations, &exclusive_entries, &failures});
  }
  std::atomic<bool> done{false};
  std::thread expirer([&] {
    while (!done.load()) {
      server->ExpireClients(server.clock.Now());  // nobody's lease runs out: time stands still
      server->Stats();
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (Worker& w : workers) threads.emplace_back([&w] { w.Run(); });
  for (std::thread& t : threads) t.join();
  done = true;
  expirer.join();

  EXPECT_EQ(0, failures.load());
  EXPECT_EQ(0, violations.load()) << "two owners held the shared write lock at once";
  EXPECT_GT(exclusive_entries.load(), 0);
  StateStats st = server->Stats();
  EXPECT_EQ(static_cast<size_t>(kThreads), st.clients);
  EXPECT_EQ(static_cast<size_t>(kThreads), st.sessions);
  EXPECT_EQ(0u, st.stateids);
  EXPECT_EQ(0u, st.files);
}

}  // namespace
}  // namespace manifold::state::testing
