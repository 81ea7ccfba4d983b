// Leases and expiry (RFC 8881 8.3), the grace period and reclaim after a restart (8.4.2,
// 8.4.2.1, 8.4.3), RECLAIM_COMPLETE (18.51), and the client records that carry reclaim rights
// across restarts.
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

constexpr uint32_t RW = OPEN4_SHARE_ACCESS_BOTH;
constexpr uint32_t DRW = OPEN4_SHARE_DENY_BOTH;

OpenRequest Reclaim(clientid4 c, const std::string& owner, uint64_t file, uint32_t access,
                    uint32_t deny = OPEN4_SHARE_DENY_NONE) {
  return OpenReq(c, owner, file, access, deny, /*reclaim=*/true);
}

TEST(Leases, ExpiryDropsTheClientWithItsOpensAndLocks) {
  TestServer server;
  MountedClient a = Mount(server, "client-a");
  MountedClient b = Mount(server, "client-b", 1, 2);
  stateid4 open = server->Open(OpenReq(a.clientid, "oa", 1, RW, DRW)).stateid;
  std::string lo = "lo";
  ASSERT_STAT(NFS4_OK, server->Lock(a.clientid, 1, NewLockArgs(WRITE_LT, 0, 5, open, lo)).status);
  ASSERT_STAT(NFS4ERR_SHARE_DENIED, server->Open(OpenReq(b.clientid, "ob", 1, RW)).status);

  // b keeps renewing; a does not.
  server.clock.Advance(std::chrono::seconds(60));
  server->Sequence(SeqArgs(b.session, 1), 2, server.clock.Now(), {2, 100}).lease->Complete({});
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
  server.clock.Advance(std::chrono::seconds(31));
  std::vector<ExpiredClient> gone = server->ExpireClients(server.clock.Now());
  ASSERT_EQ(1u, gone.size());
  EXPECT_EQ(a.clientid, gone[0].clientid);
  EXPECT_EQ("client-a", gone[0].owner);
  EXPECT_TRUE(gone[0].confirmed);
  EXPECT_EQ(1u, gone[0].sessions);
  EXPECT_EQ(1u, gone[0].dropped.opens);
  EXPECT_EQ(1u, gone[0].dropped.lock_stateids);
  EXPECT_EQ(1u, gone[0].dropped.lock_ranges);

  EXPECT_FALSE(server.store.Contains("client-a"));
  EXPECT_TRUE(server.store.Contains("client-b"));
  EXPECT_STAT(NFS4ERR_BADSESSION,
              server->Sequence(SeqArgs(a.session, 1), 1, server.clock.Now(), {2, 100}).status);
  EXPECT_STAT(NFS4ERR_STALE_CLIENTID, server->DestroyClientId(a.clientid));
  stateid4 ob = server->Open(OpenReq(b.clientid, "ob", 1, RW)).stateid;
  EXPECT_STAT(NFS4_OK, server->Lock(b.clientid, 1, NewLockArgs(WRITE_LT, 0, 5, ob, lo)).status);
  EXPECT_EQ(2u, server->Stats().stateids);  // only b's open and lock remain
}

// RFC 8881 8.3: a SEQUENCE that succeeds renews the lease. The expirer picks expired clients
// and then drops them one by one; a client whose SEQUENCE arrives in between keeps its
// session and its state (and is not answered OK and then dropped).
TEST(Leases, AClientRenewingWhileTheExpirerRunsKeepsItsState) {
  TestServer server;
  MountedClient a = Mount(server, "client-a");
  MountedClient b = Mount(server, "client-b", 1, 2);
  ASSERT_STAT(NFS4_OK, server->Open(OpenReq(a.clientid, "oa", 1, RW)).status);
  ASSERT_STAT(NFS4_OK, server->Open(OpenReq(b.clientid, "ob", 2, RW)).status);
  server.clock.Advance(std::chrono::seconds(91));  // both leases ran out
  std::string first;
  server.store.set_delete_hook([&](std::string_view owner) {
    if (!first.empty()) return;
    first = std::string(owner);  // the expirer is dropping this one; the other renews now
    const MountedClient& other = first == "client-a" ? b : a;
    auto seq = server->Sequence(SeqArgs(other.session, 1), 3, server.clock.Now(), {2, 100});
    EXPECT_STAT(NFS4_OK, seq.status);
    if (seq.lease) seq.lease->Complete({});
  });
  std::vector<ExpiredClient> gone = server->ExpireClients(server.clock.Now());
  server.store.set_delete_hook(nullptr);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(1u, gone.size()) << "a client that renewed was dropped";
  EXPECT_EQ(first, gone[0].owner);
  const MountedClient& kept = first == "client-a" ? b : a;
  EXPECT_TRUE(server.store.Contains(first == "client-a" ? "client-b" : "client-a"));
  EXPECT_EQ(1u, server->Stats().stateids);  // the survivor's open
  auto next = server->Sequence(SeqArgs(kept.session, 2), 3, server.clock.Now(), {2, 100});
  EXPECT_STAT(NFS4_OK, next.status);
  if (next.lease) next.lease->Complete({});
}

TEST(Leases, LeaseTimeIsConfigurable) {
  StateLimits limits;
  limits.lease_time_s = 10;
  TestServer server(limits);
  Mount(server, "a");
  server.clock.Advance(std::chrono::seconds(9));
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
  server.clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(1u, server->ExpireClients(server.clock.Now()).size());
}

// ---- grace and reclaim ----

class GraceTest : public ::testing::Test {
 protected:
  // Before the restart: "client-a" holds an open and a lock on file 1 and finished its reclaim
  // phase (its record on stable storage allows reclaim).
  void SetUp() override {
    MountedClient a = Mount(server, "client-a");
    stateid4 open = server->Open(OpenReq(a.clientid, "oa", 1, RW, DRW)).stateid;
    std::string lo = "lo";
    ASSERT_STAT(NFS4_OK, server->Lock(a.clientid, 1, NewLockArgs(WRITE_LT, 0, 5, open, lo)).status);
    server.Restart();
  }
  TestServer server;
};

TEST_F(GraceTest, OnlyReclaimsDuringGrace) {
  ASSERT_TRUE(server->InGrace());
  MountedClient a = Mount(server, "client-a", 1, 1, /*reclaim_complete=*/false);
  // Non-reclaim OPEN and LOCK during grace: NFS4ERR_GRACE.
  EXPECT_STAT(NFS4ERR_GRACE, server->Open(OpenReq(a.clientid, "new", 2, RW)).status);
  OpenResult re = server->Open(Reclaim(a.clientid, "oa", 1, RW, DRW));
  ASSERT_STAT(NFS4_OK, re.status);
  std::string lo = "lo";
  LockResult rl = server->Lock(a.clientid, 1, NewLockArgs(WRITE_LT, 0, 5, re.stateid, lo, true));
  ASSERT_STAT(NFS4_OK, rl.status);
  EXPECT_STAT(NFS4ERR_GRACE,
              server->Lock(a.clientid, 1, NewLockArgs(WRITE_LT, 10, 5, re.stateid, lo)).status);
  // LOCKT and I/O with special stateids cannot be answered reliably yet.
  EXPECT_STAT(NFS4ERR_GRACE, server->LockTest(a.clientid, 1, LocktArgs(READ_LT, 0, 1, "x")).status);
  stateid4 anonymous{};
  EXPECT_STAT(NFS4ERR_GRACE, server->CheckIo(a.clientid, anonymous, 1, false));
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, re.stateid, 1, true));
}

TEST_F(GraceTest, AClientNotOnStableStorageCannotReclaim) {
  MountedClient b = Mount(server, "client-b", 1, 2);  // new; its RECLAIM_COMPLETE is accepted
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(b.clientid, "ob", 1, RW)).status);
  // ... and until the grace period is over it cannot open either.
  EXPECT_STAT(NFS4ERR_GRACE, server->Open(OpenReq(b.clientid, "ob", 2, RW)).status);
}

TEST_F(GraceTest, GraceEndsWhenEveryKnownClientHasReclaimed) {
  MountedClient b = Mount(server, "client-b", 1, 2);
  MountedClient a = Mount(server, "client-a", 1, 1, false);
  ASSERT_STAT(NFS4_OK, server->Open(Reclaim(a.clientid, "oa", 1, RW, DRW)).status);
  EXPECT_TRUE(server->InGrace());
  ASSERT_STAT(NFS4_OK, server->ReclaimComplete(a.clientid, false));
  EXPECT_FALSE(server->InGrace());
  EXPECT_STAT(NFS4ERR_COMPLETE_ALREADY, server->ReclaimComplete(a.clientid, false));
  // Reclaims are over; ordinary opens work (and the reclaimed open's deny holds).
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(a.clientid, "oa", 3, RW)).status);
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, server->Open(OpenReq(b.clientid, "ob", 1, RW)).status);
  EXPECT_STAT(NFS4_OK, server->Open(OpenReq(b.clientid, "ob", 2, RW)).status);
}

TEST_F(GraceTest, GraceEndsByTimeAndForgetsOwnersThatNeverCameBack) {
  EXPECT_TRUE(server.store.Contains("client-a"));
  server.clock.Advance(std::chrono::seconds(server.limits.grace_time_effective_s() - 1));
  server->ExpireClients(server.clock.Now());
  EXPECT_TRUE(server->InGrace());
  server.clock.Advance(std::chrono::seconds(1));
  server->ExpireClients(server.clock.Now());
  EXPECT_FALSE(server->InGrace());
  EXPECT_FALSE(server.store.Contains("client-a"));  // 8.4.3: no reclaim after a later restart
  MountedClient a = Mount(server, "client-a", 1, 1, false);
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(a.clientid, "oa", 1, RW)).status);
}

// RFC 8881 8.4.3: once its time is up, reclaims stop at once, but nothing that could conflict
// with one is granted until the end of grace has rewritten the records of owners that did not
// finish (here: dropped client-a's), so that no grant is told before that is on stable storage.
TEST_F(GraceTest, GrantsWaitForTheEndOfGraceNotOnlyForItsTime) {
  MountedClient b = Mount(server, "client-b", 1, 2);
  MountedClient a = Mount(server, "client-a", 1, 1, false);
  server.clock.Advance(std::chrono::seconds(server.limits.grace_time_effective_s() - 1));
  for (const MountedClient* c : {&a, &b}) {  // both keep their leases
    server->Sequence(SeqArgs(c->session, 1), 1, server.clock.Now(), {2, 100}).lease->Complete({});
  }
  server.clock.Advance(std::chrono::seconds(1));
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(a.clientid, "oa", 1, RW)).status);
  EXPECT_STAT(NFS4ERR_GRACE, server->Open(OpenReq(b.clientid, "ob", 1, RW)).status);
  EXPECT_STAT(NFS4ERR_GRACE, server->LockTest(b.clientid, 1, LocktArgs(READ_LT, 0, 1, "x")).status);
  stateid4 anonymous{};
  EXPECT_STAT(NFS4ERR_GRACE, server->CheckIo(b.clientid, anonymous, 1, true));
  EXPECT_TRUE(server->InGrace());
  server->ExpireClients(server.clock.Now());  // ends the grace period
  EXPECT_FALSE(server->InGrace());
  EXPECT_FALSE(DecodeClientRecord("client-a", server.store.Get("client-a"))->reclaim_complete);
  EXPECT_STAT(NFS4_OK, server->Open(OpenReq(b.clientid, "ob", 1, RW)).status);
}

TEST_F(GraceTest, AClientThatDidNotFinishReclaimingLosesItsRightsForTheNextRestart) {
  MountedClient a = Mount(server, "client-a", 1, 1, false);
  ASSERT_STAT(NFS4_OK, server->Open(Reclaim(a.clientid, "oa", 1, RW)).status);
  server.clock.Advance(std::chrono::seconds(server.limits.grace_time_effective_s() - 1));
  server->Sequence(SeqArgs(a.session, 1), 1, server.clock.Now(), {2, 100}).lease->Complete({});
  server.clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());  // a renewed its lease
  ASSERT_FALSE(server->InGrace());
  ASSERT_TRUE(server.store.Contains("client-a"));
  EXPECT_FALSE(DecodeClientRecord("client-a", server.store.Get("client-a"))->reclaim_complete);
  server.Restart();
  EXPECT_FALSE(server->InGrace());  // no owner may reclaim: no grace period at all
  MountedClient again = Mount(server, "client-a", 1, 1, false);
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(again.clientid, "oa", 1, RW)).status);
}

TEST_F(GraceTest, ARestartDuringGraceKeepsReclaimRights) {
  MountedClient a = Mount(server, "client-a", 1, 1, false);  // reconnected, not finished yet
  server.Restart();
  ASSERT_TRUE(server->InGrace());
  MountedClient again = Mount(server, "client-a", 1, 1, false);
  EXPECT_STAT(NFS4_OK, server->Open(Reclaim(again.clientid, "oa", 1, RW)).status);
  (void)a;
}

TEST_F(GraceTest, ConflictingReclaimsAreReclaimConflict) {
  // A second known owner whose reclaim conflicts with a's: one of them cannot be genuine.
  ASSERT_TRUE(
      server.store.Put("client-c", EncodeClientRecord({"client-c", 1, {}, "root@client", true}))
          .ok());
  server.Restart();
  MountedClient a = Mount(server, "client-a", 1, 1, false);
  MountedClient c = Mount(server, "client-c", 1, 3, false);
  ASSERT_STAT(NFS4_OK, server->Open(Reclaim(a.clientid, "oa", 1, RW, DRW)).status);
  EXPECT_STAT(NFS4ERR_RECLAIM_CONFLICT, server->Open(Reclaim(c.clientid, "oc", 1, RW)).status);
  stateid4 oc = server->Open(Reclaim(c.clientid, "oc", 2, RW)).stateid;
  stateid4 oa = server->Open(Reclaim(a.clientid, "oa", 2, RW)).stateid;
  std::string la = "la", lc = "lc";
  ASSERT_STAT(NFS4_OK,
              server->Lock(a.clientid, 2, NewLockArgs(WRITE_LT, 0, 9, oa, la, true)).status);
  EXPECT_STAT(NFS4ERR_RECLAIM_CONFLICT,
              server->Lock(c.clientid, 2, NewLockArgs(READ_LT, 5, 1, oc, lc, true)).status);
}

TEST(Grace, NonReclaimBeforeReclaimCompleteIsGraceEvenOutsideGrace) {
  TestServer server;
  ASSERT_FALSE(server->InGrace());  // first boot: nobody to wait for
  MountedClient a = Mount(server, "a", 1, 1, /*reclaim_complete=*/false);
  EXPECT_STAT(NFS4ERR_GRACE, server->Open(OpenReq(a.clientid, "o", 1, RW)).status);  // 18.51.3
  EXPECT_STAT(NFS4ERR_NO_GRACE, server->Open(Reclaim(a.clientid, "o", 1, RW)).status);
  ASSERT_STAT(NFS4_OK, server->ReclaimComplete(a.clientid, false));
  EXPECT_STAT(NFS4_OK, server->Open(OpenReq(a.clientid, "o", 1, RW)).status);
}

TEST(Grace, RecoverDropsRecordsWithoutReclaimRightsAndRejectsCorruptOnes) {
  TestServer server;
  ASSERT_TRUE(server.store.Put("half", EncodeClientRecord({"half", 1, {}, "p", false})).ok());
  server.Restart();
  EXPECT_FALSE(server.store.Contains("half"));
  EXPECT_FALSE(server->InGrace());
  ASSERT_TRUE(server.store.Put("junk", "not a record").ok());
  StateConfig config;
  config.boot_epoch = 99;
  StateManager broken(config, server.clock, server.store);
  EXPECT_FALSE(broken.Recover().ok());
}

TEST(Grace, GraceTimeIsConfigurable) {
  StateLimits limits;
  limits.grace_time_s = 5;
  TestServer server(limits);
  Mount(server, "a");
  server.Restart();
  EXPECT_TRUE(server->InGrace());
  server.clock.Advance(std::chrono::seconds(4));
  server->ExpireClients(server.clock.Now());
  EXPECT_TRUE(server->InGrace());
  server.clock.Advance(std::chrono::seconds(1));
  server->ExpireClients(server.clock.Now());  // ends it once its time is up
  EXPECT_FALSE(server->InGrace());
}

}  // namespace
}  // namespace manifold::state::testing
