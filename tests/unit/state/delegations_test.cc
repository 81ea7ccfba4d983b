// Delegations (RFC 8881 10.2, 10.4, 18.16.3 open_delegation4): the granting policy, conflicts
// with other clients' operations, recall, revocation of an unanswered recall, reclaim after a
// restart, and opens made under a delegation (CLAIM_DELEGATE_CUR).
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

constexpr uint32_t R = OPEN4_SHARE_ACCESS_READ;
constexpr uint32_t W = OPEN4_SHARE_ACCESS_WRITE;
constexpr uint32_t RW = OPEN4_SHARE_ACCESS_BOTH;
constexpr uint64_t kFile = 100;
constexpr uint32_t kLeaseS = 30;

StateLimits ShortLease() {
  StateLimits l;
  l.lease_time_s = kLeaseS;
  return l;
}

class DelegationsTest : public ::testing::Test {
 protected:
  OpenResult Open(const MountedClient& c, const std::string& owner, uint32_t access,
                  bool may_delegate = true, uint64_t file = kFile) {
    OpenRequest r = OpenReq(c.clientid, owner, file, access);
    r.may_delegate = may_delegate;
    return server->Open(r);
  }
  void Renew(const MountedClient& c, sequenceid4 seq) {
    auto out = server->Sequence(SeqArgs(c.session, seq), 1, server.clock.Now(), {2, 100});
    ASSERT_STAT(NFS4_OK, out.status);
    out.lease->Complete({});
  }

  TestServer server{ShortLease()};
  MountedClient a = Mount(server, "client-a");
  MountedClient b = Mount(server, "client-b", 1, 2);
};

TEST_F(DelegationsTest, ReadOpenGetsAReadDelegationOnlyWithAWorkingBackchannel) {
  OpenResult no_path = Open(a, "a0", R, /*may_delegate=*/false);
  ASSERT_STAT(NFS4_OK, no_path.status);
  EXPECT_EQ(OPEN_DELEGATE_NONE, no_path.delegation.type);
  EXPECT_FALSE(server->AnyDelegations());

  OpenResult r = Open(a, "a1", R);
  ASSERT_STAT(NFS4_OK, r.status);
  ASSERT_EQ(OPEN_DELEGATE_READ, r.delegation.type);
  EXPECT_FALSE(r.delegation.recall);
  EXPECT_TRUE(server->AnyDelegations());
  std::optional<RecallableInfo> info = server->FindRecallable(r.delegation.stateid);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(a.clientid, info->clientid);
  EXPECT_EQ(static_cast<uint32_t>(OPEN_DELEGATE_READ), info->kind);
  // The delegation stateid reads, and does not write.
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, r.delegation.stateid, kFile, false));
  EXPECT_STAT(NFS4ERR_OPENMODE, server->CheckIo(a.clientid, r.delegation.stateid, kFile, true));
}

TEST_F(DelegationsTest, WantsAreAnsweredWithTheReasonForNone) {
  OpenResult r = Open(a, "a1", R | OPEN4_SHARE_ACCESS_WANT_NO_DELEG);
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, r.delegation.type);
  EXPECT_EQ(WND4_NOT_WANTED, r.delegation.why);
  r = Open(a, "a2", R | OPEN4_SHARE_ACCESS_WANT_CANCEL);
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, r.delegation.type);
  EXPECT_EQ(WND4_CANCELLED, r.delegation.why);
  r = Open(a, "a3", R | OPEN4_SHARE_ACCESS_WANT_READ_DELEG, /*may_delegate=*/false);
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, r.delegation.type);
  EXPECT_EQ(WND4_RESOURCE, r.delegation.why);
}

TEST_F(DelegationsTest, WriteDelegationsOnlyWhenAskedFor) {
  EXPECT_EQ(OPEN_DELEGATE_NONE, Open(a, "a1", RW).delegation.type);
  EXPECT_FALSE(server->AnyWriteDelegations());
  OpenResult w = Open(a, "a2", RW | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG, true, kFile + 1);
  ASSERT_EQ(OPEN_DELEGATE_WRITE, w.delegation.type);
  EXPECT_TRUE(server->AnyWriteDelegations());
  EXPECT_STAT(NFS4_OK, server->CheckIo(a.clientid, w.delegation.stateid, kFile + 1, true));
  OpenResult any = Open(a, "a3", W | OPEN4_SHARE_ACCESS_WANT_ANY_DELEG, true, kFile + 2);
  EXPECT_EQ(OPEN_DELEGATE_WRITE, any.delegation.type);
  OpenResult any_read = Open(a, "a4", R | OPEN4_SHARE_ACCESS_WANT_ANY_DELEG, true, kFile + 3);
  EXPECT_EQ(OPEN_DELEGATE_READ, any_read.delegation.type);
  ASSERT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, w.delegation.stateid));
  EXPECT_TRUE(server->AnyWriteDelegations());  // the WANT_ANY one is a write delegation too
  ASSERT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, any.delegation.stateid));
  EXPECT_FALSE(server->AnyWriteDelegations());
  EXPECT_TRUE(server->AnyDelegations());
}

TEST_F(DelegationsTest, NoDelegationAgainstAnotherClientsState) {
  ASSERT_STAT(NFS4_OK, Open(b, "b1", W).status);
  OpenResult r = Open(a, "a1", R | OPEN4_SHARE_ACCESS_WANT_READ_DELEG);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, r.delegation.type);
  EXPECT_EQ(WND4_CONTENTION, r.delegation.why);
  OpenResult w = Open(a, "a2", RW | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG);
  EXPECT_EQ(WND4_CONTENTION, w.delegation.why);
  // Another client's reader rules out a write delegation, not a read one.
  ASSERT_STAT(NFS4_OK, Open(b, "b2", R, false, kFile + 1).status);
  EXPECT_EQ(OPEN_DELEGATE_READ, Open(a, "a3", R, true, kFile + 1).delegation.type);
  EXPECT_EQ(WND4_CONTENTION,
            Open(a, "a4", RW | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG, true, kFile + 1).delegation.why);
}

TEST_F(DelegationsTest, TheHolderIsAnsweredTheSameDelegationAndNotUpgraded) {
  OpenResult first = Open(a, "a1", R);
  ASSERT_EQ(OPEN_DELEGATE_READ, first.delegation.type);
  OpenResult again = Open(a, "a2", R);
  EXPECT_EQ(OPEN_DELEGATE_READ, again.delegation.type);
  EXPECT_TRUE(SameOther(first.delegation.stateid, again.delegation.stateid));
  OpenResult up = Open(a, "a3", RW | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG);
  ASSERT_STAT(NFS4_OK, up.status);  // its own write open is not blocked by its delegation
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, up.delegation.type);
  EXPECT_EQ(WND4_NOT_SUPP_UPGRADE, up.delegation.why);
}

TEST_F(DelegationsTest, ConflictingOpenRecallsThenSucceedsAfterDelegreturn) {
  stateid4 d = Open(a, "a1", R).delegation.stateid;
  EXPECT_STAT(NFS4_OK, Open(b, "b1", R).status);  // another reader: no conflict
  EXPECT_STAT(NFS4ERR_DELAY, Open(b, "b2", W).status);
  EXPECT_STAT(NFS4ERR_DELAY, Open(b, "b2", W).status);
  ASSERT_EQ(1u, server.sink.calls.size());  // recalled once
  EXPECT_TRUE(SameOther(d, server.sink.calls[0].stateid));
  ASSERT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, d));
  EXPECT_STAT(NFS4_OK, Open(b, "b2", W).status);
  EXPECT_FALSE(server->AnyDelegations());
}

TEST_F(DelegationsTest, OtherClientsChangesAndReadsBreakWhatTheyConflictWith) {
  stateid4 rd = Open(a, "a1", R).delegation.stateid;
  stateid4 wd = Open(a, "a2", RW | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG, true, kFile + 1)
                    .delegation.stateid;
  // The holder's own operations never conflict.
  EXPECT_STAT(NFS4_OK, server->BreakDelegations(a.clientid, kFile, true));
  EXPECT_STAT(NFS4_OK, server->BreakDelegations(a.clientid, kFile + 1, true));
  // Reading (GETATTR, READ) meets write delegations only.
  EXPECT_STAT(NFS4_OK, server->BreakDelegations(b.clientid, kFile, false));
  EXPECT_TRUE(server.sink.calls.empty());
  EXPECT_STAT(NFS4ERR_DELAY, server->BreakDelegations(b.clientid, kFile + 1, false));
  // Changing (REMOVE, RENAME, SETATTR) meets every delegation.
  EXPECT_STAT(NFS4ERR_DELAY, server->BreakDelegations(b.clientid, kFile, true));
  ASSERT_EQ(2u, server.sink.calls.size());
  EXPECT_TRUE(SameOther(wd, server.sink.calls[0].stateid));
  EXPECT_TRUE(SameOther(rd, server.sink.calls[1].stateid));
  // I/O with the anonymous stateid meets them as well.
  stateid4 anonymous{};
  EXPECT_STAT(NFS4ERR_DELAY, server->CheckIo(b.clientid, anonymous, kFile, true));
  EXPECT_STAT(NFS4_OK, server->CheckIo(b.clientid, anonymous, kFile, false));
  EXPECT_STAT(NFS4ERR_DELAY, server->CheckIo(b.clientid, anonymous, kFile + 1, false));
  EXPECT_EQ(2u, server.sink.calls.size());  // each recalled once
}

TEST_F(DelegationsTest, AnUnansweredRecallIsRevokedAfterALease) {
  stateid4 d = Open(a, "a1", R).delegation.stateid;
  ASSERT_STAT(NFS4ERR_DELAY, Open(b, "b1", W).status);
  server.clock.Advance(std::chrono::seconds(kLeaseS / 2));
  Renew(a, 1);
  Renew(b, 1);
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
  EXPECT_STAT(NFS4ERR_DELAY, Open(b, "b1", W).status);  // not yet
  server.clock.Advance(std::chrono::seconds(kLeaseS / 2 + 1));
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());  // the clients live on
  EXPECT_STAT(NFS4_OK, Open(b, "b1", W).status);
  EXPECT_STAT(NFS4ERR_DELEG_REVOKED, server->CheckIo(a.clientid, d, kFile, false));
  EXPECT_STAT(NFS4ERR_DELEG_REVOKED, server->TestStateids(a.clientid, {{d}})[0]);
  EXPECT_STAT(NFS4ERR_DELEG_REVOKED, server->RemoveRecallable(a.clientid, d));
  EXPECT_STAT(NFS4_OK, server->FreeStateid(a.clientid, d));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(a.clientid, {{d}})[0]);
}

TEST_F(DelegationsTest, OpensUnderTheClientsOwnDelegation) {
  stateid4 d = Open(a, "a1", R).delegation.stateid;
  OpenRequest cur = OpenReq(a.clientid, "a2", kFile, R);
  cur.delegation = d;
  OpenResult r = server->Open(cur);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(OPEN_DELEGATE_NONE, r.delegation.type);  // no second delegation
  cur.share_access = RW;
  EXPECT_STAT(NFS4ERR_OPENMODE, server->Open(cur).status);  // a read delegation covers reads
  OpenRequest other = OpenReq(b.clientid, "b1", kFile, R);
  other.delegation = d;
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->Open(other).status);
  OpenRequest elsewhere = OpenReq(a.clientid, "a3", kFile + 1, R);
  elsewhere.delegation = d;
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->Open(elsewhere).status);
}

TEST_F(DelegationsTest, ADelegationIsReclaimedAfterARestart) {
  ASSERT_EQ(OPEN_DELEGATE_READ, Open(a, "a1", R).delegation.type);
  server.Restart();
  ASSERT_TRUE(server->InGrace());
  MountedClient again = Mount(server, "client-a", 1, 1, /*reclaim_complete=*/false);
  OpenRequest r = OpenReq(again.clientid, "a1", kFile, R, OPEN4_SHARE_DENY_NONE, true);
  r.reclaim_delegation = OPEN_DELEGATE_READ;
  OpenResult re = server->Open(r);
  ASSERT_STAT(NFS4_OK, re.status);
  EXPECT_EQ(OPEN_DELEGATE_READ, re.delegation.type);
  EXPECT_FALSE(re.delegation.recall);
  EXPECT_TRUE(server.sink.calls.empty());
}

TEST_F(DelegationsTest, AReclaimedDelegationThatNowConflictsIsRecalledAtOnce) {
  server.Restart();
  MountedClient a2 = Mount(server, "client-a", 1, 1, false);
  MountedClient b2 = Mount(server, "client-b", 1, 2, false);
  ASSERT_STAT(NFS4_OK,
              server->Open(OpenReq(b2.clientid, "b1", kFile, W, OPEN4_SHARE_DENY_NONE, true)).status);
  OpenRequest r = OpenReq(a2.clientid, "a1", kFile, R, OPEN4_SHARE_DENY_NONE, true);
  r.reclaim_delegation = OPEN_DELEGATE_READ;
  OpenResult re = server->Open(r);
  ASSERT_STAT(NFS4_OK, re.status);
  EXPECT_EQ(OPEN_DELEGATE_READ, re.delegation.type);
  EXPECT_TRUE(re.delegation.recall);
  ASSERT_EQ(1u, server.sink.calls.size());
  EXPECT_TRUE(SameOther(re.delegation.stateid, server.sink.calls[0].stateid));
}

TEST_F(DelegationsTest, DelegationsPerClientMaxGivesNone) {
  StateLimits limits = ShortLease();
  limits.delegations_per_client_max = 1;
  TestServer small(limits);
  MountedClient c = Mount(small, "c");
  OpenRequest r = OpenReq(c.clientid, "c1", 1, R | OPEN4_SHARE_ACCESS_WANT_READ_DELEG);
  r.may_delegate = true;
  EXPECT_EQ(OPEN_DELEGATE_READ, small->Open(r).delegation.type);
  r.fileid = 2;
  OpenResult second = small->Open(r);
  ASSERT_STAT(NFS4_OK, second.status);  // the open itself succeeds
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, second.delegation.type);
  EXPECT_EQ(WND4_RESOURCE, second.delegation.why);
}

TEST_F(DelegationsTest, AnExpiredClientsDelegationsGoWithIt) {
  ASSERT_EQ(OPEN_DELEGATE_READ, Open(a, "a1", R).delegation.type);
  server.clock.Advance(std::chrono::seconds(kLeaseS + 1));
  Renew(b, 1);
  auto expired = server->ExpireClients(server.clock.Now());
  ASSERT_EQ(1u, expired.size());
  EXPECT_EQ(1u, expired[0].dropped.delegations);
  EXPECT_FALSE(server->AnyDelegations());
  EXPECT_STAT(NFS4_OK, Open(b, "b1", W).status);
}

// 10.4.5: a file just recalled gets no new delegation for a while, so a reader that reopens it
// cannot take one again and again while the writer retries.
TEST_F(DelegationsTest, ARecalledFileGetsNoDelegationForAWhile) {
  stateid4 d = Open(a, "a1", R).delegation.stateid;
  ASSERT_STAT(NFS4ERR_DELAY, Open(b, "b1", W, false, kFile).status);
  ASSERT_STAT(NFS4_OK, server->RemoveRecallable(a.clientid, d));
  OpenResult again = Open(a, "a2", R | OPEN4_SHARE_ACCESS_WANT_READ_DELEG);
  ASSERT_STAT(NFS4_OK, again.status);
  EXPECT_EQ(OPEN_DELEGATE_NONE_EXT, again.delegation.type);
  EXPECT_EQ(WND4_CONTENTION, again.delegation.why);
  EXPECT_EQ(OPEN_DELEGATE_READ, Open(a, "a3", R, true, kFile + 1).delegation.type);  // others
  server.clock.Advance(std::chrono::seconds(server.limits.no_delegation_after_recall_s));
  Renew(a, 1);
  EXPECT_EQ(OPEN_DELEGATE_READ, Open(a, "a4", R).delegation.type);
}

}  // namespace
}  // namespace manifold::state::testing
