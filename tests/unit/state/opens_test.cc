// Opens and share reservations (RFC 8881 9.7, 9.9, 18.16, 18.18, 18.2), the I/O check (9.1.2),
// stateid validation (8.2.2) on opens, and the delegation conflict hook (10.2).
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

constexpr uint32_t R = OPEN4_SHARE_ACCESS_READ;
constexpr uint32_t W = OPEN4_SHARE_ACCESS_WRITE;
constexpr uint32_t RW = OPEN4_SHARE_ACCESS_BOTH;
constexpr uint32_t DN = OPEN4_SHARE_DENY_NONE;
constexpr uint32_t DR = OPEN4_SHARE_DENY_READ;
constexpr uint32_t DW = OPEN4_SHARE_DENY_WRITE;
constexpr uint64_t kFile = 100;

class OpensTest : public ::testing::Test {
 protected:
  OpenResult Open(const MountedClient& c, const std::string& owner, uint32_t access,
                  uint32_t deny = DN, uint64_t file = kFile) {
    return server->Open(OpenReq(c.clientid, owner, file, access, deny));
  }

  TestServer server;
  MountedClient a = Mount(server, "client-a");
  MountedClient b = Mount(server, "client-b", 1, 2);
};

TEST_F(OpensTest, ShareDenyConflictsAcrossClientsAndOwners) {
  ASSERT_STAT(NFS4_OK, Open(a, "a1", R, DW).status);
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(b, "b1", W).status);      // B's access meets A's deny
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(b, "b1", R, DR).status);  // B's deny meets A's access
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(a, "a2", RW).status);     // another owner of A too
  EXPECT_STAT(NFS4_OK, Open(b, "b1", R).status);
  EXPECT_STAT(NFS4_OK, Open(a, "a1", W).status);  // the owner itself is never in conflict
  EXPECT_STAT(NFS4_OK, Open(b, "b2", R, DN, kFile + 1).status);  // another file
}

TEST_F(OpensTest, RepeatedOpenByTheOwnerUpgradesAndBumpsSeqid) {
  OpenResult first = Open(a, "a1", R);
  ASSERT_STAT(NFS4_OK, first.status);
  EXPECT_EQ(1u, first.stateid.seqid);
  EXPECT_FALSE(first.upgraded);
  EXPECT_STAT(NFS4ERR_OPENMODE, server->CheckIo(a.clientid, first.stateid, kFile, true));
  OpenResult second = Open(a, "a1", W, DR);
  ASSERT_STAT(NFS4_OK, second.status);
  EXPECT_TRUE(second.upgraded);
  EXPECT_TRUE(SameOther(first.stateid, second.stateid));
  EXPECT_EQ(2u, second.stateid.seqid);
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, second.stateid, kFile, true));
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(b, "b1", R).status);  // the union denies READ now
}

// An OPEN that fails after it upgraded the owner's open (its size step) puts the open back:
// the client's stateid is current again, and the wider access and deny are gone.
TEST_F(OpensTest, AnUndoneUpgradeLeavesTheOpenAsItWas) {
  OpenResult first = Open(a, "a1", R);
  ASSERT_STAT(NFS4_OK, first.status);
  OpenResult second = Open(a, "a1", W, DR);
  ASSERT_STAT(NFS4_OK, second.status);
  ASSERT_TRUE(second.upgraded);
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(b, "b1", R).status);
  ASSERT_TRUE(server->UndoUpgrade(a.clientid, kFile, second.stateid, second.before));
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, first.stateid, kFile, false));
  EXPECT_STAT(NFS4ERR_OPENMODE, server->CheckIo(a.clientid, first.stateid, kFile, true));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(a.clientid, second.stateid, kFile, false));
  EXPECT_STAT(NFS4_OK, Open(b, "b1", R).status);  // no DENY_READ any more
  // OPEN_DOWNGRADE sees only the first OPEN: READ alone is what it had.
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(first.stateid, W, DN)).status);
  // The same undo again finds the open changed (its stateid is the first one now): no effect.
  EXPECT_FALSE(server->UndoUpgrade(a.clientid, kFile, second.stateid, second.before));
  // Once another OPEN of the owner has moved the open on, an old upgrade is not undone.
  OpenResult third = Open(a, "a1", W);
  OpenResult fourth = Open(a, "a1", R, DW);
  ASSERT_STAT(NFS4_OK, fourth.status);
  EXPECT_FALSE(server->UndoUpgrade(a.clientid, kFile, third.stateid, third.before));
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, fourth.stateid, kFile, true));
}

// 18.18.3: the new access and deny are the union of some of the owner's OPENs in effect
// (what knfsd asks too): READ alone after an OPEN for BOTH is not.
TEST_F(OpensTest, DowngradeToWhatTheOwnersOpensUniteToOnly) {
  OpenResult o = Open(a, "a1", RW, DR | DW);
  ASSERT_STAT(NFS4_OK, o.status);
  EXPECT_STAT(NFS4ERR_SHARE_DENIED, Open(b, "b1", R).status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(o.stateid, R, DN)).status);
  OpenResult o2 = Open(a, "a1", R);  // the owner opens for reading too
  ASSERT_STAT(NFS4_OK, o2.status);
  EXPECT_STAT(NFS4ERR_INVAL,  // delegation wishes have no place in a downgrade (MUST)
              server->OpenDowngrade(a.clientid, kFile,
                                    DowngradeArgs(o2.stateid, R | OPEN4_SHARE_ACCESS_WANT_READ_DELEG, DN))
                  .status);
  StateidResult d = server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(o2.stateid, R, DN));
  ASSERT_STAT(NFS4_OK, d.status);
  EXPECT_EQ(3u, d.stateid.seqid);
  EXPECT_STAT(NFS4_OK, Open(b, "b1", RW).status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(d.stateid, W, DN)).status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(d.stateid, R, DR)).status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(d.stateid, 0, DN)).status);
  // The stateid before the downgrade is old now.
  EXPECT_STAT(NFS4ERR_OLD_STATEID,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(o2.stateid, R, DN)).status);
}

// Two OPENs, (READ, DENY_WRITE) and (WRITE, DENY_NONE): WRITE with DENY_WRITE unites no subset
// of them; WRITE alone, or both together, do.
TEST_F(OpensTest, DowngradeTakesTheAccessAndDenyOfTheSameOpens) {
  ASSERT_STAT(NFS4_OK, Open(a, "a1", R, DW).status);
  OpenResult o = Open(a, "a1", W);
  ASSERT_STAT(NFS4_OK, o.status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(o.stateid, W, DW)).status);
  StateidResult same = server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(o.stateid, RW, DW));
  ASSERT_STAT(NFS4_OK, same.status);
  StateidResult w = server->OpenDowngrade(a.clientid, kFile, DowngradeArgs(same.stateid, W, DN));
  ASSERT_STAT(NFS4_OK, w.status);
  EXPECT_STAT(NFS4_OK, Open(b, "b1", W).status);  // the deny of WRITE went with the READ open
}

TEST_F(OpensTest, CloseFreesTheOpenAndAnswersTheInvalidStateid) {
  OpenResult o = Open(a, "a1", RW, DR | DW);
  OpenResult up = Open(a, "a1", R);  // seqid 2
  EXPECT_STAT(NFS4ERR_OLD_STATEID, server->Close(a.clientid, kFile, CloseArgs(o.stateid)).status);
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Close(a.clientid, kFile, CloseArgs(WithSeqid(up.stateid, 3))).status);
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Close(a.clientid, kFile + 1, CloseArgs(up.stateid)).status);  // other file
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Close(b.clientid, kFile, CloseArgs(up.stateid)).status);  // other client
  // 8.2.2: seqid 0 means "the current one".
  StateidResult c = server->Close(a.clientid, kFile, CloseArgs(WithSeqid(up.stateid, 0)));
  ASSERT_STAT(NFS4_OK, c.status);
  EXPECT_TRUE(IsInvalidStateid(c.stateid));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->Close(a.clientid, kFile, CloseArgs(up.stateid)).status);
  EXPECT_STAT(NFS4_OK, Open(b, "b1", RW, DR | DW).status);
}

// The MDS keeps a file removed while open until no live open is left (docs/protocol.md):
// HasOpens must turn false whichever way the last open goes, and not before.
TEST_F(OpensTest, HasOpensFollowsCloseRevocationAndExpiry) {
  EXPECT_FALSE(server->HasOpens(kFile));
  OpenResult a1 = Open(a, "a1", R);
  OpenResult a2 = Open(a, "a2", R);
  ASSERT_STAT(NFS4_OK, a1.status);
  ASSERT_STAT(NFS4_OK, a2.status);
  EXPECT_TRUE(server->HasOpens(kFile));
  EXPECT_FALSE(server->HasOpens(kFile + 1));
  ASSERT_STAT(NFS4_OK, server->Close(a.clientid, kFile, CloseArgs(a1.stateid)).status);
  EXPECT_TRUE(server->HasOpens(kFile));  // a2 still has it open
  ASSERT_STAT(NFS4_OK, server->RevokeStateid(a2.stateid, RevokeReason::kAdmin));
  EXPECT_FALSE(server->HasOpens(kFile));  // a revoked open keeps nothing alive

  ASSERT_STAT(NFS4_OK, Open(b, "b1", R).status);
  EXPECT_TRUE(server->HasOpens(kFile));
  server.clock.Advance(std::chrono::seconds(server->config().limits.lease_time_s + 1));
  ASSERT_EQ(2u, server->ExpireClients(server.clock.Now()).size());
  EXPECT_FALSE(server->HasOpens(kFile));
}

TEST_F(OpensTest, CloseWithLocksHeldIsLocksHeld) {
  OpenResult o = Open(a, "a1", RW);
  std::string lo = "lock-owner";
  LockResult l = server->Lock(a.clientid, kFile, NewLockArgs(WRITE_LT, 0, 10, o.stateid, lo));
  ASSERT_STAT(NFS4_OK, l.status);
  EXPECT_STAT(NFS4ERR_LOCKS_HELD, server->Close(a.clientid, kFile, CloseArgs(o.stateid)).status);
  ASSERT_STAT(NFS4_OK, server->Unlock(a.clientid, kFile, LockuArgs(0, 10, l.lock_stateid)).status);
  EXPECT_STAT(NFS4_OK, server->Close(a.clientid, kFile, CloseArgs(o.stateid)).status);
  // The open's lock stateid went with it.
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(a.clientid, {&l.lock_stateid, 1})[0]);
}

TEST_F(OpensTest, WantBitsAreToleratedAndBadBitsAreInval) {
  EXPECT_STAT(NFS4_OK, Open(a, "a1", R | OPEN4_SHARE_ACCESS_WANT_NO_DELEG).status);
  EXPECT_STAT(NFS4_OK, Open(a, "a2",
                            R | OPEN4_SHARE_ACCESS_WANT_ANY_DELEG |
                                OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL)
                           .status);
  EXPECT_STAT(NFS4ERR_INVAL, Open(a, "a3", 0).status);
  EXPECT_STAT(NFS4ERR_INVAL, Open(a, "a3", R | 0x4).status);
  EXPECT_STAT(NFS4ERR_INVAL, Open(a, "a3", R | 0x0600).status);  // no such WANT value
  EXPECT_STAT(NFS4ERR_INVAL, Open(a, "a3", R, 0x4).status);
}

TEST_F(OpensTest, OpensPerClientMaxIsNospc) {
  StateLimits limits;
  limits.opens_per_client_max = 3;
  TestServer small(limits);
  MountedClient c = Mount(small, "c");
  for (uint64_t f = 1; f <= 3; ++f) {
    ASSERT_STAT(NFS4_OK, small->Open(OpenReq(c.clientid, "o", f, R)).status);
  }
  EXPECT_STAT(NFS4ERR_NOSPC, small->Open(OpenReq(c.clientid, "o", 4, R)).status);
  EXPECT_STAT(NFS4_OK, small->Open(OpenReq(c.clientid, "o", 1, W)).status);  // upgrade: no new
}

// ---- I/O ----

TEST_F(OpensTest, IoNeedsTheAccessOfTheStateid) {
  OpenResult ro = Open(a, "a1", R);
  OpenResult wo = Open(a, "a2", W, DN, kFile + 1);
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, ro.stateid, kFile, false));
  EXPECT_STAT(NFS4ERR_OPENMODE, server->CheckIo(a.clientid, ro.stateid, kFile, true));
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, wo.stateid, kFile + 1, true));
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, wo.stateid, kFile + 1, false));  // 9.1.2
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(a.clientid, ro.stateid, kFile + 1, false));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(b.clientid, ro.stateid, kFile, false));
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->CheckIo(a.clientid, WithSeqid(ro.stateid, 2), kFile, false));
}

TEST_F(OpensTest, SpecialStateidsObeyOtherOpensDeny) {
  stateid4 anonymous{};
  stateid4 bypass{};
  bypass.seqid = ~0u;
  std::memset(bypass.other, 0xff, sizeof(bypass.other));
  EXPECT_STAT(NFS4_OK, server->CheckIo(b.clientid, anonymous, kFile, true));
  ASSERT_STAT(NFS4_OK, Open(a, "a1", R, DR | DW).status);
  EXPECT_STAT(NFS4ERR_LOCKED, server->CheckIo(b.clientid, anonymous, kFile, false));
  EXPECT_STAT(NFS4ERR_LOCKED, server->CheckIo(b.clientid, anonymous, kFile, true));
  EXPECT_STAT(NFS4_OK, server->CheckIo(b.clientid, bypass, kFile, false));  // bypasses DENY_READ
  EXPECT_STAT(NFS4ERR_LOCKED, server->CheckIo(b.clientid, bypass, kFile, true));
  stateid4 current{};
  current.seqid = 1;  // must have been substituted by the compound loop
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(b.clientid, current, kFile, false));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(b.clientid, InvalidStateid(), kFile, false));
}

TEST_F(OpensTest, DelegationAndLayoutStateidsForIo) {
  StateidResult rd = server->RecordDelegation(a.clientid, kFile, OPEN_DELEGATE_READ);
  StateidResult lay = server->RecordLayout(a.clientid, kFile, LAYOUT4_FLEX_FILES);
  ASSERT_STAT(NFS4_OK, rd.status);
  ASSERT_STAT(NFS4_OK, lay.status);
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, rd.stateid, kFile, false));
  EXPECT_STAT(NFS4ERR_OPENMODE, server->CheckIo(a.clientid, rd.stateid, kFile, true));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(a.clientid, lay.stateid, kFile, false));
}

TEST_F(OpensTest, StateidsOfAnEarlierInstanceAreBadStateid) {
  OpenResult o = Open(a, "a1", R);
  server.Restart();
  MountedClient again = Mount(server, "client-a");  // its RECLAIM_COMPLETE ends grace for "a"
  Mount(server, "client-b", 1, 2);
  EXPECT_FALSE(server->InGrace());
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(again.clientid, {&o.stateid, 1})[0]);
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->CheckIo(again.clientid, o.stateid, kFile, false));
}

// ---- delegations: the registry and the recall hook ----

TEST_F(OpensTest, ConflictingOpenRecallsADelegationOnceAndWaits) {
  StateidResult d = server->RecordDelegation(a.clientid, kFile, OPEN_DELEGATE_READ);
  ASSERT_STAT(NFS4_OK, d.status);
  EXPECT_STAT(NFS4_OK, Open(b, "b1", R).status);  // reading does not conflict
  EXPECT_STAT(NFS4ERR_DELAY, Open(b, "b2", W).status);
  EXPECT_STAT(NFS4ERR_DELAY, Open(b, "b2", W).status);
  ASSERT_EQ(1u, server.sink.calls.size());  // recalled once
  EXPECT_EQ(a.clientid, server.sink.calls[0].clientid);
  EXPECT_TRUE(SameOther(d.stateid, server.sink.calls[0].stateid));
  EXPECT_FALSE(server.sink.calls[0].layout);
  EXPECT_STAT(NFS4_OK, Open(a, "a1", W).status);  // the holder itself is not blocked
  ASSERT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, d.stateid));  // DELEGRETURN
  EXPECT_STAT(NFS4_OK, Open(b, "b2", W).status);
}

TEST_F(OpensTest, RegistryRecordsFindsAndRemoves) {
  StateidResult l1 = server->RecordLayout(a.clientid, kFile, LAYOUT4_FLEX_FILES);
  StateidResult l2 = server->RecordLayout(a.clientid, kFile, LAYOUT4_FLEX_FILES);
  ASSERT_STAT(NFS4_OK, l2.status);
  EXPECT_TRUE(SameOther(l1.stateid, l2.stateid));  // one per client, file and type
  EXPECT_EQ(2u, l2.stateid.seqid);
  ASSERT_EQ(1u, server->LayoutsOnFile(kFile).size());
  std::optional<RecallableInfo> info = server->FindRecallable(l2.stateid);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(StateidType::kLayout, info->type);
  EXPECT_EQ(a.clientid, info->clientid);
  EXPECT_EQ(static_cast<uint32_t>(LAYOUT4_FLEX_FILES), info->kind);
  EXPECT_EQ(3u, server->BumpLayoutSeqid(a.clientid, l2.stateid).stateid.seqid);
  EXPECT_TRUE(server->RequestRecall(l2.stateid));
  EXPECT_FALSE(server->RequestRecall(l2.stateid));  // once
  ASSERT_EQ(1u, server.sink.calls.size());
  EXPECT_TRUE(server.sink.calls[0].layout);
  EXPECT_STAT(NFS4ERR_LOCKS_HELD, server->FreeStateid(a.clientid, WithSeqid(l2.stateid, 0)));
  EXPECT_STAT(NFS4ERR_OLD_STATEID, server->RemoveRecallable(a.clientid, l1.stateid));
  EXPECT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, WithSeqid(l2.stateid, 0)));
  EXPECT_TRUE(server->LayoutsOnFile(kFile).empty());
  EXPECT_FALSE(server->FindRecallable(l2.stateid).has_value());
}

TEST_F(OpensTest, RecallablesPerClientMaxIsDelay) {
  StateLimits limits;
  limits.delegations_per_client_max = 1;
  TestServer small(limits);
  MountedClient c = Mount(small, "c");
  ASSERT_STAT(NFS4_OK, small->RecordDelegation(c.clientid, 1, OPEN_DELEGATE_READ).status);
  EXPECT_STAT(NFS4ERR_DELAY, small->RecordDelegation(c.clientid, 2, OPEN_DELEGATE_READ).status);
}

}  // namespace
}  // namespace manifold::state::testing
