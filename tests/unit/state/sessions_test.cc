// Sessions: SEQUENCE and the slot reply cache (RFC 8881 2.10.6, 18.46), DESTROY_SESSION (18.37),
// BIND_CONN_TO_SESSION (18.34), BACKCHANNEL_CTL (18.33), status flags and the backchannel.
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

using Kind = SequenceOutcome::Kind;
constexpr CompoundShape kSmall{2, 200};

std::vector<uint8_t> Bytes(size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

class SessionsTest : public ::testing::Test {
 protected:
  SequenceOutcome Seq(sequenceid4 seqid, slotid4 slot = 0, bool cachethis = true,
                      CompoundShape shape = kSmall, ConnectionId conn = 1) {
    return server->Sequence(SeqArgs(m.session, seqid, slot, cachethis), conn, server.clock.Now(),
                            shape);
  }
  uint32_t Flags(sequenceid4 seqid, slotid4 slot = 0) {
    SequenceOutcome o = Seq(seqid, slot);
    EXPECT_EQ(Kind::kExecute, o.kind) << Nfs4StatName(o.status);
    if (o.kind != Kind::kExecute) return ~0u;
    o.lease->Complete({});
    return o.lease->resok().sr_status_flags;
  }

  TestServer server;
  MountedClient m = Mount(server, "client-a");
};

TEST_F(SessionsTest, NewRequestExecutesWithTheSlotTableInTheReply) {
  SequenceOutcome o = Seq(1, 3);
  ASSERT_EQ(Kind::kExecute, o.kind);
  const SEQUENCE4resok& r = o.lease->resok();
  EXPECT_EQ(m.session, ToSessionId(r.sr_sessionid));
  EXPECT_EQ(1u, r.sr_sequenceid);
  EXPECT_EQ(3u, r.sr_slotid);
  EXPECT_EQ(7u, r.sr_highest_slotid);  // SessionArgs asks for 8 slots
  EXPECT_EQ(7u, r.sr_target_highest_slotid);
  EXPECT_EQ(0u, r.sr_status_flags);  // backchannel bound at CREATE_SESSION, nothing revoked
  EXPECT_EQ(m.clientid, o.lease->clientid());
}

TEST_F(SessionsTest, RetryGetsTheCachedReplyByteForByte) {
  SequenceOutcome first = Seq(1);
  ASSERT_EQ(Kind::kExecute, first.kind);
  std::vector<uint8_t> reply = Bytes(700, 0xab);
  reply[3] = 7;
  first.lease->Complete(reply);
  for (int i = 0; i < 2; ++i) {
    SequenceOutcome retry = Seq(1);
    ASSERT_EQ(Kind::kReplay, retry.kind);
    EXPECT_EQ(reply, retry.replay);
  }
  // The next seqid is a new request; after it the old reply is gone.
  SequenceOutcome next = Seq(2);
  ASSERT_EQ(Kind::kExecute, next.kind);
  next.lease->Complete(Bytes(10, 1));
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(1).status);
  EXPECT_EQ(Bytes(10, 1), Seq(2).replay);
}

TEST_F(SessionsTest, MisorderedSeqidsAreSeqMisordered) {
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(0).status);  // a fresh slot has no request 0
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(2).status);
  SequenceOutcome o = Seq(1);
  o.lease->Complete({});
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(3).status);
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(0xffffffffu).status);
}

TEST_F(SessionsTest, SlotBeyondTheTableIsBadslot) {
  EXPECT_STAT(NFS4ERR_BADSLOT, Seq(1, 8).status);
  EXPECT_STAT(NFS4ERR_BADSLOT, Seq(1, 0xffffffffu).status);
}

TEST_F(SessionsTest, RetryWhileTheOriginalRunsIsDelay) {
  SequenceOutcome running = Seq(1);
  ASSERT_EQ(Kind::kExecute, running.kind);
  EXPECT_STAT(NFS4ERR_DELAY, Seq(1).status);
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED, Seq(2).status);
  running.lease->Complete(Bytes(4, 9));
  EXPECT_EQ(Kind::kReplay, Seq(1).kind);
}

TEST_F(SessionsTest, UnknownSessionIsBadsession) {
  SessionId other = m.session;
  other[8] ^= 0xff;
  EXPECT_STAT(NFS4ERR_BADSESSION,
              server->Sequence(SeqArgs(other, 1), 1, server.clock.Now(), kSmall).status);
}

TEST_F(SessionsTest, TooManyOpsAndTooBigRequestUseNoSlot) {
  EXPECT_STAT(NFS4ERR_TOO_MANY_OPS, Seq(1, 0, true, {17, 200}).status);  // ca_maxoperations 16
  EXPECT_STAT(NFS4ERR_REQ_TOO_BIG, Seq(1, 0, true, {2, (1 << 20) + 1}).status);
  EXPECT_EQ(Kind::kExecute, Seq(1, 0, true, {16, 1 << 20}).kind);
}

TEST_F(SessionsTest, ReplyTooBigToCacheWhenTheClientAskedForCaching) {
  SequenceOutcome o = Seq(1);
  ASSERT_EQ(Kind::kExecute, o.kind);
  EXPECT_EQ(8192u, o.lease->max_cached_response_bytes());
  EXPECT_STAT(NFS4_OK, o.lease->CheckReplySize(8192));
  EXPECT_STAT(NFS4ERR_REP_TOO_BIG_TO_CACHE, o.lease->CheckReplySize(8193));
  EXPECT_STAT(NFS4ERR_REP_TOO_BIG, o.lease->CheckReplySize((1 << 20) + 1));
  o.lease->Complete({});
  SequenceOutcome nocache = Seq(2, 0, /*cachethis=*/false);
  EXPECT_STAT(NFS4_OK, nocache.lease->CheckReplySize(8193));
  EXPECT_STAT(NFS4ERR_REP_TOO_BIG, nocache.lease->CheckReplySize((1 << 20) + 1));
}

TEST_F(SessionsTest, UncachedReplyIsRetryUncachedRep) {
  // sa_cachethis false and bigger than the cache: not cached.
  SequenceOutcome o = Seq(1, 0, false);
  o.lease->Complete(Bytes(9000, 1));
  EXPECT_STAT(NFS4ERR_RETRY_UNCACHED_REP, Seq(1, 0, false).status);
  // sa_cachethis false but small: cached anyway (session_table.h explains why).
  SequenceOutcome small = Seq(1, 1, false);
  small.lease->Complete(Bytes(100, 2));
  EXPECT_EQ(Bytes(100, 2), Seq(1, 1, false).replay);
}

TEST_F(SessionsTest, AnAbandonedLeaseFreesTheSlotWithoutCaching) {
  {
    SequenceOutcome o = Seq(1);
    ASSERT_EQ(Kind::kExecute, o.kind);
  }  // dropped without Complete
  EXPECT_STAT(NFS4ERR_RETRY_UNCACHED_REP, Seq(1).status);
  EXPECT_EQ(Kind::kExecute, Seq(2).kind);
}

TEST_F(SessionsTest, SlotsAreIndependent) {
  SequenceOutcome a = Seq(1, 0);
  SequenceOutcome b = Seq(1, 1);
  ASSERT_EQ(Kind::kExecute, a.kind);
  ASSERT_EQ(Kind::kExecute, b.kind);
  b.lease->Complete(Bytes(3, 3));
  a.lease->Complete(Bytes(3, 4));
  EXPECT_EQ(Bytes(3, 4), Seq(1, 0).replay);
  EXPECT_EQ(Bytes(3, 3), Seq(1, 1).replay);
}

TEST_F(SessionsTest, LeaseMovesWithSlot) {
  SequenceOutcome o = Seq(1);
  SlotLease moved = std::move(*o.lease);
  o.lease.reset();  // the moved-from lease does nothing
  EXPECT_STAT(NFS4ERR_DELAY, Seq(1).status);
  moved.Complete(Bytes(2, 5));
  EXPECT_EQ(Bytes(2, 5), Seq(1).replay);
}

TEST_F(SessionsTest, SequenceRenewsTheLease) {
  const auto lease = std::chrono::seconds(server.limits.lease_time_s);
  sequenceid4 seqid = 1;
  for (int i = 0; i < 5; ++i) {
    server.clock.Advance(lease - std::chrono::seconds(1));
    Seq(seqid++).lease->Complete({});
    EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
  }
  server.clock.Advance(lease);
  EXPECT_EQ(1u, server->ExpireClients(server.clock.Now()).size());
  EXPECT_STAT(NFS4ERR_BADSESSION, Seq(seqid).status);
}

TEST_F(SessionsTest, AClientWithACompoundInProgressDoesNotExpire) {
  SequenceOutcome o = Seq(1);
  server.clock.Advance(std::chrono::seconds(server.limits.lease_time_s * 3));
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
  o.lease->Complete({});  // renews
  EXPECT_TRUE(server->ExpireClients(server.clock.Now()).empty());
}

// ---- status flags and the backchannel ----

TEST_F(SessionsTest, NoBackchannelConnectionIsCbPathDown) {
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs("no-back", 1), "root@client");
  CreateSessionReply cs =
      server->CreateSession(SessionArgs(ex.eir_clientid, 1, 0), "root@client", 5);
  ASSERT_STAT(NFS4_OK, cs.status);
  SequenceOutcome o = server->Sequence(SeqArgs(ToId(cs), 1), 5, server.clock.Now(), kSmall);
  ASSERT_EQ(Kind::kExecute, o.kind);
  EXPECT_EQ(SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION,
            o.lease->resok().sr_status_flags);
  o.lease->Complete({});
  // Binding a back connection clears it.
  BIND_CONN_TO_SESSION4args bind{};
  CopySessionId(ToId(cs), bind.bctsa_sessid);
  bind.bctsa_dir = CDFC4_BACK;
  BindConnResult b = server->BindConnToSession(bind, 6);
  ASSERT_STAT(NFS4_OK, b.status);
  EXPECT_EQ(CDFS4_BACK, b.resok.bctsr_dir);
  SequenceOutcome o2 = server->Sequence(SeqArgs(ToId(cs), 2), 5, server.clock.Now(), kSmall);
  EXPECT_EQ(0u, o2.lease->resok().sr_status_flags);
  ASSERT_TRUE(server->FindBackchannel(ex.eir_clientid).has_value());
  EXPECT_EQ(6u, server->FindBackchannel(ex.eir_clientid)->conn);
}

TEST_F(SessionsTest, ClosedOrBrokenBackchannelIsCbPathDown) {
  EXPECT_EQ(0u, Flags(1));
  server->ReportBackchannelDown(m.session);
  EXPECT_EQ(SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION, Flags(2));
  BACKCHANNEL_CTL4args ctl{};
  ctl.bca_cb_program = 0x40000001;
  ctl.bca_sec_parms.bca_sec_parms_len = 1;
  ctl.bca_sec_parms.bca_sec_parms_val = const_cast<callback_sec_parms4*>(AuthNoneSec());
  ASSERT_STAT(NFS4_OK, server->BackchannelCtl(m.session, ctl));
  EXPECT_EQ(0u, Flags(3));
  EXPECT_EQ(0x40000001u, server->FindBackchannel(m.clientid)->cb_program);
  server->ConnectionClosed(1);  // the CREATE_SESSION connection carried the backchannel
  EXPECT_EQ(SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION, Flags(4));
  EXPECT_FALSE(server->FindBackchannel(m.clientid).has_value());
}

TEST_F(SessionsTest, AnotherSessionsBackchannelLeavesOnlyTheSessionFlag) {
  CreateSessionReply second =
      server->CreateSession(SessionArgs(m.clientid, 2, 0), "root@client", 9);
  ASSERT_STAT(NFS4_OK, second.status);
  SequenceOutcome o = server->Sequence(SeqArgs(ToId(second), 1), 9, server.clock.Now(), kSmall);
  EXPECT_EQ(SEQ4_STATUS_CB_PATH_DOWN_SESSION, o.lease->resok().sr_status_flags);
}

TEST_F(SessionsTest, RevokedStateIsFlaggedUntilFreed) {
  OpenResult open = server->Open(OpenReq(m.clientid, "oo", 1, OPEN4_SHARE_ACCESS_READ));
  ASSERT_STAT(NFS4_OK, open.status);
  StateidResult deleg = server->RecordDelegation(m.clientid, 2, OPEN_DELEGATE_READ);
  ASSERT_STAT(NFS4_OK, deleg.status);
  ASSERT_STAT(NFS4_OK, server->RevokeStateid(open.stateid, RevokeReason::kAdmin));
  ASSERT_STAT(NFS4_OK, server->RevokeStateid(deleg.stateid, RevokeReason::kRecall));
  EXPECT_EQ(SEQ4_STATUS_ADMIN_STATE_REVOKED | SEQ4_STATUS_RECALLABLE_STATE_REVOKED, Flags(1));
  ASSERT_STAT(NFS4_OK, server->FreeStateid(m.clientid, open.stateid));
  EXPECT_EQ(SEQ4_STATUS_RECALLABLE_STATE_REVOKED, Flags(2));
  ASSERT_STAT(NFS4_OK, server->FreeStateid(m.clientid, deleg.stateid));
  EXPECT_EQ(0u, Flags(3));
}

TEST_F(SessionsTest, BackchannelCtlNeedsUsableSecurity) {
  callback_sec_parms4 gss{};
  gss.cb_secflavor = RPCSEC_GSS;
  BACKCHANNEL_CTL4args ctl{};
  ctl.bca_sec_parms.bca_sec_parms_len = 1;
  ctl.bca_sec_parms.bca_sec_parms_val = &gss;
  EXPECT_STAT(NFS4ERR_ENCR_ALG_UNSUPP, server->BackchannelCtl(m.session, ctl));
  uint32_t gids[2] = {10, 20};
  callback_sec_parms4 both[2] = {gss, {}};
  both[1].cb_secflavor = AUTH_SYS;
  both[1].callback_sec_parms4_u.cbsp_sys_cred.aup_machname = const_cast<char*>("mds");
  both[1].callback_sec_parms4_u.cbsp_sys_cred.aup_uid = 1000;
  both[1].callback_sec_parms4_u.cbsp_sys_cred.aup_gid = 100;
  both[1].callback_sec_parms4_u.cbsp_sys_cred.aup_len = 2;
  both[1].callback_sec_parms4_u.cbsp_sys_cred.aup_gids = gids;
  ctl.bca_sec_parms.bca_sec_parms_len = 2;
  ctl.bca_sec_parms.bca_sec_parms_val = both;
  ASSERT_STAT(NFS4_OK, server->BackchannelCtl(m.session, ctl));
  std::optional<BackchannelRoute> route = server->FindBackchannel(m.clientid);
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(static_cast<uint32_t>(AUTH_SYS), route->sec.cb_secflavor);
  EXPECT_EQ(1000u, route->sec.uid);
  EXPECT_EQ("mds", route->sec.machine_name);
  EXPECT_EQ((std::vector<uint32_t>{10, 20}), route->sec.gids);
  SessionId unknown{};
  EXPECT_STAT(NFS4ERR_BADSESSION, server->BackchannelCtl(unknown, ctl));
}

TEST_F(SessionsTest, CallbackSlotsHandOutSequenceIds) {
  std::optional<CallbackSlotGrant> a = server->AcquireCallbackSlot(m.session);
  std::optional<CallbackSlotGrant> b = server->AcquireCallbackSlot(m.session);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(0u, a->slotid);
  EXPECT_EQ(1u, b->slotid);
  EXPECT_EQ(1u, a->sequenceid);
  EXPECT_EQ(1u, a->highest_slotid);  // SessionArgs: 2 back slots
  EXPECT_FALSE(server->AcquireCallbackSlot(m.session).has_value());
  server->ReleaseCallbackSlot(m.session, 0, /*answered=*/true);
  EXPECT_EQ(2u, server->AcquireCallbackSlot(m.session)->sequenceid);
  server->ReleaseCallbackSlot(m.session, 0, /*answered=*/false);  // no reply: same seqid again
  EXPECT_EQ(2u, server->AcquireCallbackSlot(m.session)->sequenceid);
}

// ---- DESTROY_SESSION, BIND_CONN_TO_SESSION ----

TEST_F(SessionsTest, DestroySessionWaitsForOtherSlotsButNotItsOwn) {
  sessionid4 sid;
  CopySessionId(m.session, sid);
  SequenceOutcome other = Seq(1, 2);
  SequenceOutcome own = Seq(1, 0);
  EXPECT_STAT(NFS4ERR_DELAY, server->DestroySession(sid, &m.session));
  other.lease->Complete({});
  EXPECT_STAT(NFS4_OK, server->DestroySession(sid, &m.session));
  own.lease->Complete(Bytes(5, 5));  // completes into nothing
  EXPECT_STAT(NFS4ERR_BADSESSION, Seq(2, 0).status);
  EXPECT_STAT(NFS4ERR_BADSESSION, server->DestroySession(sid, nullptr));
}

TEST_F(SessionsTest, BindConnDirectionsAndBounds) {
  BIND_CONN_TO_SESSION4args bind{};
  CopySessionId(m.session, bind.bctsa_sessid);
  bind.bctsa_dir = CDFC4_FORE_OR_BOTH;
  bind.bctsa_use_conn_in_rdma_mode = true;
  BindConnResult r = server->BindConnToSession(bind, 2);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(CDFS4_BOTH, r.resok.bctsr_dir);
  EXPECT_FALSE(r.resok.bctsr_use_conn_in_rdma_mode);
  EXPECT_EQ(m.session, ToSessionId(r.resok.bctsr_sessid));
  bind.bctsa_dir = CDFC4_FORE;
  EXPECT_EQ(CDFS4_FORE, server->BindConnToSession(bind, 3).resok.bctsr_dir);
  uint32_t bad_dir = 9;  // what a hostile peer can make xdr_enum store
  std::memcpy(&bind.bctsa_dir, &bad_dir, sizeof bad_dir);
  EXPECT_STAT(NFS4ERR_INVAL, server->BindConnToSession(bind, 3).status);
  bind.bctsa_dir = CDFC4_FORE;
  for (ConnectionId c = 4; c < 4 + server.limits.connections_per_session_max - 3; ++c) {
    ASSERT_STAT(NFS4_OK, server->BindConnToSession(bind, c).status);
  }
  EXPECT_STAT(NFS4ERR_DELAY, server->BindConnToSession(bind, 1000).status);
  CopySessionId(SessionId{}, bind.bctsa_sessid);
  EXPECT_STAT(NFS4ERR_BADSESSION, server->BindConnToSession(bind, 3).status);
}

}  // namespace
}  // namespace manifold::state::testing
