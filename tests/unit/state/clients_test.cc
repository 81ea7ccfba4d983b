// Client IDs: the EXCHANGE_ID case table (RFC 8881 18.35.4), CREATE_SESSION sequencing and
// negotiation (18.36.4), DESTROY_CLIENTID (18.50), and the client records on stable storage.
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

const std::string kOwner = "linux-client-1";
const std::string kPrincipal = "root@client";

TEST(ExchangeId, NewOwnerGetsUnconfirmedClientIdAsPnfsMds) {  // case 1
  TestServer server;
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(EXCHGID4_FLAG_USE_PNFS_MDS, r.eir_flags);  // no CONFIRMED_R yet
  EXPECT_EQ(1u, r.eir_sequenceid);
  EXPECT_EQ(kFirstEpoch, r.eir_clientid >> 32);
}

TEST(ExchangeId, RetryOfAnUnconfirmedRecordReplacesIt) {  // case 4
  TestServer server;
  ExchangeIdResult a = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ExchangeIdResult b = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ASSERT_STAT(NFS4_OK, b.status);
  EXPECT_NE(a.eir_clientid, b.eir_clientid);
  EXPECT_STAT(NFS4ERR_STALE_CLIENTID,
              server->CreateSession(SessionArgs(a.eir_clientid, 1), kPrincipal, 1).status);
  EXPECT_STAT(NFS4_OK, server->CreateSession(SessionArgs(b.eir_clientid, 1), kPrincipal, 1).status);
}

TEST(ExchangeId, RetryWithSameVerifierReturnsSameConfirmedClientId) {  // case 2
  TestServer server;
  MountedClient m = Mount(server, kOwner, 1);
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(m.clientid, r.eir_clientid);
  EXPECT_EQ(EXCHGID4_FLAG_USE_PNFS_MDS | EXCHGID4_FLAG_CONFIRMED_R, r.eir_flags);
  EXPECT_EQ(2u, r.eir_sequenceid);  // the next CREATE_SESSION's csa_sequence
}

TEST(ExchangeId, ClientRebootGetsNewClientIdAndOldStateGoesAtConfirmation) {  // case 5
  TestServer server;
  MountedClient old = Mount(server, kOwner, 1);
  OpenResult open =
      server->Open(OpenReq(old.clientid, "oo", 10, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_BOTH));
  ASSERT_STAT(NFS4_OK, open.status);

  ExchangeIdResult fresh = server->ExchangeId(ExchangeArgs(kOwner, 2), kPrincipal);
  ASSERT_STAT(NFS4_OK, fresh.status);
  EXPECT_NE(old.clientid, fresh.eir_clientid);
  EXPECT_EQ(0u, fresh.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
  // Until the new client ID is confirmed the old one keeps its session and state.
  auto seq = server->Sequence(SeqArgs(old.session, 1), 1, server.clock.Now(), {1, 100});
  ASSERT_EQ(SequenceOutcome::Kind::kExecute, seq.kind);
  seq.lease->Complete({});
  EXPECT_STAT(NFS4_OK, server->TestStateids(old.clientid, {&open.stateid, 1})[0]);

  CreateSessionReply cs =
      server->CreateSession(SessionArgs(fresh.eir_clientid, fresh.eir_sequenceid), kPrincipal, 2);
  ASSERT_STAT(NFS4_OK, cs.status);
  EXPECT_STAT(NFS4ERR_BADSESSION,
              server->Sequence(SeqArgs(old.session, 2), 1, server.clock.Now(), {1, 100}).status);
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(old.clientid, {&open.stateid, 1})[0]);
  // The share reservation went with it.
  ASSERT_STAT(NFS4_OK, server->ReclaimComplete(fresh.eir_clientid, false));
  EXPECT_STAT(NFS4_OK, server
                           ->Open(OpenReq(fresh.eir_clientid, "oo", 10, OPEN4_SHARE_ACCESS_BOTH,
                                          OPEN4_SHARE_DENY_BOTH))
                           .status);
}

TEST(ExchangeId, AnotherPrincipalWhileTheOldClientHasStateIsClidInuse) {  // case 3
  TestServer server;
  Mount(server, kOwner, 1);
  EXPECT_STAT(NFS4ERR_CLID_INUSE,
              server->ExchangeId(ExchangeArgs(kOwner, 1), "intruder@elsewhere").status);
}

TEST(ExchangeId, AnotherPrincipalReplacesAClientWithoutState) {  // case 3 without state
  TestServer server;
  MountedClient m = Mount(server, kOwner, 1);
  sessionid4 sid;
  CopySessionId(m.session, sid);
  ASSERT_STAT(NFS4_OK, server->DestroySession(sid, nullptr));
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1), "other@host");
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_NE(m.clientid, r.eir_clientid);
  EXPECT_EQ(0u, r.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
}

TEST(ExchangeId, AnotherPrincipalReplacesAClientWhoseLeaseExpired) {
  TestServer server;
  MountedClient m = Mount(server, kOwner, 1);
  server.clock.Advance(std::chrono::seconds(server.limits.lease_time_s + 1));
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1), "other@host");
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_NE(m.clientid, r.eir_clientid);
}

TEST(ExchangeId, UpdateCasesSixToNine) {
  TestServer server;
  const uint32_t upd = EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
  EXPECT_STAT(NFS4ERR_NOENT, server->ExchangeId(ExchangeArgs(kOwner, 1, upd), kPrincipal).status);
  MountedClient m = Mount(server, kOwner, 1);
  EXPECT_STAT(NFS4ERR_NOT_SAME,
              server->ExchangeId(ExchangeArgs(kOwner, 9, upd), kPrincipal).status);
  EXPECT_STAT(NFS4ERR_PERM, server->ExchangeId(ExchangeArgs(kOwner, 1, upd), "other@x").status);
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1, upd), kPrincipal);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(m.clientid, r.eir_clientid);
  EXPECT_NE(0u, r.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
}

TEST(ExchangeId, BadFlagsAndEmptyOwnerAreInval) {
  TestServer server;
  EXPECT_STAT(
      NFS4ERR_INVAL,
      server->ExchangeId(ExchangeArgs(kOwner, 1, EXCHGID4_FLAG_CONFIRMED_R), kPrincipal).status);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->ExchangeId(ExchangeArgs(kOwner, 1, 0x1000), kPrincipal).status);
  EXPECT_STAT(NFS4ERR_INVAL, server->ExchangeId(ExchangeArgs("", 1), kPrincipal).status);
  // Client-side pNFS role wishes are accepted; the answer is always USE_PNFS_MDS.
  ExchangeIdResult r =
      server->ExchangeId(ExchangeArgs(kOwner, 1, EXCHGID4_FLAG_USE_NON_PNFS), kPrincipal);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(EXCHGID4_FLAG_USE_PNFS_MDS, r.eir_flags & EXCHGID4_FLAG_MASK_PNFS);
}

TEST(ExchangeId, OnlySp4NoneStateProtection) {
  TestServer server;
  EXPECT_STAT(NFS4ERR_INVAL,
              server->ExchangeId(ExchangeArgs(kOwner, 1, 0, SP4_MACH_CRED), kPrincipal).status);
  EXPECT_STAT(NFS4ERR_ENCR_ALG_UNSUPP,
              server->ExchangeId(ExchangeArgs(kOwner, 1, 0, SP4_SSV), kPrincipal).status);
}

TEST(ExchangeId, ClientsMaxIsDelay) {
  StateLimits limits;
  limits.clients_max = 2;
  TestServer server(limits);
  ASSERT_STAT(NFS4_OK, server->ExchangeId(ExchangeArgs("a", 1), kPrincipal).status);
  ASSERT_STAT(NFS4_OK, server->ExchangeId(ExchangeArgs("b", 1), kPrincipal).status);
  EXPECT_STAT(kClientsMaxStatus, server->ExchangeId(ExchangeArgs("c", 1), kPrincipal).status);
  EXPECT_STAT(NFS4ERR_DELAY, kClientsMaxStatus);
  // Unconfirmed clients expire with their lease and make room.
  server.clock.Advance(std::chrono::seconds(limits.lease_time_s));
  EXPECT_EQ(2u, server->ExpireClients(server.clock.Now()).size());
  EXPECT_STAT(NFS4_OK, server->ExchangeId(ExchangeArgs("c", 1), kPrincipal).status);
}

TEST(ExchangeId, ResokCarriesTheServerIdentity) {
  TestServer server;
  ExchangeIdResult r = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ServerIdentity id;
  id.so_minor_id = 3;
  id.so_major_id = "major";
  id.server_scope = "scope";
  id.impl_domain = "manifold.dev";
  id.impl_name = "manifold-mds";
  nfs_impl_id4 impl{};
  EXCHANGE_ID4resok out;
  FillExchangeIdResok(r, id, &impl, &out);
  EXPECT_EQ(r.eir_clientid, out.eir_clientid);
  EXPECT_EQ(SP4_NONE, out.eir_state_protect.spr_how);
  EXPECT_EQ(3u, out.eir_server_owner.so_minor_id);
  EXPECT_EQ("major", std::string(out.eir_server_owner.so_major_id.so_major_id_val,
                                 out.eir_server_owner.so_major_id.so_major_id_len));
  EXPECT_EQ("scope", std::string(out.eir_server_scope.eir_server_scope_val,
                                 out.eir_server_scope.eir_server_scope_len));
  ASSERT_EQ(1u, out.eir_server_impl_id.eir_server_impl_id_len);
  EXPECT_EQ(&impl, out.eir_server_impl_id.eir_server_impl_id_val);
}

// ---- CREATE_SESSION ----

TEST(CreateSession, ReplayReturnsTheCachedReplyAndCreatesNothing) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  CreateSessionReply first = server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, first.status);
  CreateSessionReply again = server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, again.status);
  EXPECT_EQ(ToId(first), ToId(again));
  EXPECT_EQ(1u, again.resok.csr_sequence);
  EXPECT_EQ(1u, server->Stats().sessions);
  // The next one executes.
  CreateSessionReply second = server->CreateSession(SessionArgs(ex.eir_clientid, 2), kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, second.status);
  EXPECT_NE(ToId(first), ToId(second));
  EXPECT_EQ(2u, server->Stats().sessions);
}

TEST(CreateSession, MisorderedSequenceIsSeqMisordered) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED,
              server->CreateSession(SessionArgs(ex.eir_clientid, 3), kPrincipal, 1).status);
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED,
              server->CreateSession(SessionArgs(ex.eir_clientid, 0), kPrincipal, 1).status);
  ASSERT_STAT(NFS4_OK,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
  EXPECT_STAT(NFS4ERR_SEQ_MISORDERED,
              server->CreateSession(SessionArgs(ex.eir_clientid, 5), kPrincipal, 1).status);
}

TEST(CreateSession, UnknownOrEarlierInstanceClientIdIsStale) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  EXPECT_STAT(NFS4ERR_STALE_CLIENTID,
              server->CreateSession(SessionArgs(ex.eir_clientid + 100, 1), kPrincipal, 1).status);
  server.Restart();
  EXPECT_STAT(NFS4ERR_STALE_CLIENTID,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
}

TEST(CreateSession, OnlyTheCreatingPrincipalConfirms) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  EXPECT_STAT(NFS4ERR_CLID_INUSE,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), "other@x", 1).status);
}

TEST(CreateSession, AttributesAreClampedToServerLimits) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  CREATE_SESSION4args args = SessionArgs(ex.eir_clientid, 1);
  args.csa_flags = CREATE_SESSION4_FLAG_PERSIST | CREATE_SESSION4_FLAG_CONN_BACK_CHAN |
                   CREATE_SESSION4_FLAG_CONN_RDMA;
  args.csa_fore_chan_attrs = Attrs(64 << 20, 64 << 20, 64 << 20, 100000, 100000);
  args.csa_fore_chan_attrs.ca_headerpadsize = 512;
  args.csa_back_chan_attrs = Attrs(8192, 8192, 0, 8, 1000);
  CreateSessionReply r = server->CreateSession(args, kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, r.status);
  const StateLimits& lim = server.limits;
  const channel_attrs4& fore = r.resok.csr_fore_chan_attrs;
  EXPECT_EQ(0u, fore.ca_headerpadsize);
  EXPECT_EQ(lim.request_bytes_max, fore.ca_maxrequestsize);
  EXPECT_EQ(lim.response_bytes_max, fore.ca_maxresponsesize);
  EXPECT_EQ(lim.response_cached_bytes_max, fore.ca_maxresponsesize_cached);
  EXPECT_EQ(lim.operations_max, fore.ca_maxoperations);
  EXPECT_EQ(lim.slots_per_session_max, fore.ca_maxrequests);
  EXPECT_EQ(0u, fore.ca_rdma_ird.ca_rdma_ird_len);
  EXPECT_EQ(lim.back_slots_per_session_max, r.resok.csr_back_chan_attrs.ca_maxrequests);
  EXPECT_EQ(8192u, r.resok.csr_back_chan_attrs.ca_maxrequestsize);  // the client's, as given
  EXPECT_EQ(CREATE_SESSION4_FLAG_CONN_BACK_CHAN, r.resok.csr_flags);
}

TEST(CreateSession, SmallerValuesThanTheServersAreKept) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  CREATE_SESSION4args args = SessionArgs(ex.eir_clientid, 1, 0);
  args.csa_fore_chan_attrs = Attrs(4096, 8192, 1024, 8, 0);  // 0 slots asked: one given
  CreateSessionReply r = server->CreateSession(args, kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, r.status);
  EXPECT_EQ(4096u, r.resok.csr_fore_chan_attrs.ca_maxrequestsize);
  EXPECT_EQ(8192u, r.resok.csr_fore_chan_attrs.ca_maxresponsesize);
  EXPECT_EQ(1024u, r.resok.csr_fore_chan_attrs.ca_maxresponsesize_cached);
  EXPECT_EQ(8u, r.resok.csr_fore_chan_attrs.ca_maxoperations);
  EXPECT_EQ(1u, r.resok.csr_fore_chan_attrs.ca_maxrequests);
  EXPECT_EQ(0u, r.resok.csr_flags);  // no CONN_BACK_CHAN asked
}

TEST(CreateSession, TooSmallChannelIsTooSmall) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  CREATE_SESSION4args args = SessionArgs(ex.eir_clientid, 1);
  args.csa_fore_chan_attrs = Attrs(kForeRequestBytesMin - 1, 4096, 0, 8, 4);
  EXPECT_STAT(NFS4ERR_TOOSMALL, server->CreateSession(args, kPrincipal, 1).status);
  args.csa_fore_chan_attrs = Attrs(4096, kForeResponseBytesMin - 1, 0, 8, 4);
  EXPECT_STAT(NFS4ERR_TOOSMALL, server->CreateSession(args, kPrincipal, 1).status);
  // Refusals do not consume the sequence: the same csa_sequence then succeeds.
  EXPECT_STAT(NFS4_OK,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
}

TEST(CreateSession, SessionsPerClientMaxIsNospc) {
  StateLimits limits;
  limits.sessions_per_client_max = 2;
  TestServer server(limits);
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  ASSERT_STAT(NFS4_OK,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
  ASSERT_STAT(NFS4_OK,
              server->CreateSession(SessionArgs(ex.eir_clientid, 2), kPrincipal, 1).status);
  EXPECT_STAT(NFS4ERR_NOSPC,
              server->CreateSession(SessionArgs(ex.eir_clientid, 3), kPrincipal, 1).status);
}

TEST(CreateSession, ReplyCacheBudgetLowersSlotsThenRefusesWithDelay) {
  StateLimits limits;
  limits.reply_cache_bytes_max = 8192 * 12;  // SessionArgs asks 8 slots of 8192 bytes
  TestServer server(limits);
  ExchangeIdResult a = server->ExchangeId(ExchangeArgs("a", 1), kPrincipal);
  CreateSessionReply ra = server->CreateSession(SessionArgs(a.eir_clientid, 1), kPrincipal, 1);
  ASSERT_STAT(NFS4_OK, ra.status);
  EXPECT_EQ(8u, ra.resok.csr_fore_chan_attrs.ca_maxrequests);
  ExchangeIdResult b = server->ExchangeId(ExchangeArgs("b", 1), kPrincipal);
  CreateSessionReply rb = server->CreateSession(SessionArgs(b.eir_clientid, 1), kPrincipal, 2);
  ASSERT_STAT(NFS4_OK, rb.status);
  EXPECT_EQ(4u, rb.resok.csr_fore_chan_attrs.ca_maxrequests);
  ExchangeIdResult c = server->ExchangeId(ExchangeArgs("c", 1), kPrincipal);
  EXPECT_STAT(NFS4ERR_DELAY,
              server->CreateSession(SessionArgs(c.eir_clientid, 1), kPrincipal, 3).status);
  EXPECT_EQ(8192u * 12, server->Stats().reply_cache_reserved_bytes);
  // Destroying a session gives its budget back.
  ASSERT_STAT(NFS4_OK, server->DestroySession(ra.resok.csr_sessionid, nullptr));
  EXPECT_STAT(NFS4_OK, server->CreateSession(SessionArgs(c.eir_clientid, 1), kPrincipal, 3).status);
}

// ---- stable storage ----

TEST(ClientRecords, WrittenAtConfirmationAndOnReclaimComplete) {
  TestServer server;
  MountedClient m = Mount(server, kOwner, 1, 1, /*reclaim_complete=*/false);
  ASSERT_TRUE(server.store.Contains(kOwner));
  Result<ClientRecord> rec = DecodeClientRecord(kOwner, server.store.Get(kOwner));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(m.clientid, rec->clientid);
  EXPECT_EQ(kPrincipal, rec->principal);
  EXPECT_FALSE(rec->reclaim_complete);
  ASSERT_STAT(NFS4_OK, server->ReclaimComplete(m.clientid, false));
  EXPECT_TRUE(DecodeClientRecord(kOwner, server.store.Get(kOwner))->reclaim_complete);
  EXPECT_STAT(NFS4ERR_COMPLETE_ALREADY, server->ReclaimComplete(m.clientid, false));
  EXPECT_STAT(NFS4_OK, server->ReclaimComplete(m.clientid, /*rca_one_fs=*/true));
}

TEST(ClientRecords, AFailedWriteLeavesTheClientUnconfirmed) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  server.store.set_fail_writes(true);
  EXPECT_STAT(NFS4ERR_SERVERFAULT,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
  EXPECT_EQ(0u, server->Stats().sessions);
  server.store.set_fail_writes(false);
  EXPECT_STAT(NFS4_OK,
              server->CreateSession(SessionArgs(ex.eir_clientid, 1), kPrincipal, 1).status);
}

TEST(ClientRecords, EncodingRoundTripsAndRejectsGarbage) {
  ClientRecord r{"owner", 0x700000001ull, {1, 2, 3, 4, 5, 6, 7, 8}, "root@h", true};
  Result<ClientRecord> back = DecodeClientRecord("owner", EncodeClientRecord(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(r, back.value());
  EXPECT_FALSE(DecodeClientRecord("owner", "x").ok());
  std::string bad = EncodeClientRecord(r);
  bad[0] = 9;
  EXPECT_FALSE(DecodeClientRecord("owner", bad).ok());
  EXPECT_FALSE(DecodeClientRecord("", EncodeClientRecord(r)).ok());
}

// ---- DESTROY_CLIENTID ----

TEST(DestroyClientId, BusyWhileSessionsOrStateRemain) {
  TestServer server;
  MountedClient m = Mount(server, kOwner);
  EXPECT_STAT(NFS4ERR_CLIENTID_BUSY, server->DestroyClientId(m.clientid));
  OpenResult open = server->Open(OpenReq(m.clientid, "oo", 5, OPEN4_SHARE_ACCESS_READ));
  ASSERT_STAT(NFS4_OK, open.status);
  sessionid4 sid;
  CopySessionId(m.session, sid);
  ASSERT_STAT(NFS4_OK, server->DestroySession(sid, nullptr));
  EXPECT_STAT(NFS4ERR_CLIENTID_BUSY, server->DestroyClientId(m.clientid));  // the open
  ASSERT_STAT(NFS4_OK, server->Close(m.clientid, 5, CloseArgs(open.stateid)).status);
  EXPECT_STAT(NFS4_OK, server->DestroyClientId(m.clientid));
  EXPECT_FALSE(server.store.Contains(kOwner));
  EXPECT_STAT(NFS4ERR_STALE_CLIENTID, server->DestroyClientId(m.clientid));
}

// pynfs CSESS15 / CSESS29: unknown CREATE_SESSION flags are NFS4ERR_INVAL, and back-channel
// attributes too small for a CB_COMPOUND are NFS4ERR_TOOSMALL (RFC 8881 18.36.3).
TEST(CreateSession, UnknownFlagsAndTinyBackChannelAreRefused) {
  TestServer server;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(kOwner, 1), kPrincipal);
  CREATE_SESSION4args flags = SessionArgs(ex.eir_clientid, ex.eir_sequenceid);
  flags.csa_flags = 0xf;
  EXPECT_STAT(NFS4ERR_INVAL, server->CreateSession(flags, kPrincipal, 1).status);
  CREATE_SESSION4args tiny = SessionArgs(ex.eir_clientid, ex.eir_sequenceid);
  tiny.csa_back_chan_attrs.ca_maxrequestsize = 10;
  EXPECT_STAT(NFS4ERR_TOOSMALL, server->CreateSession(tiny, kPrincipal, 1).status);
  EXPECT_STAT(NFS4_OK, server->CreateSession(SessionArgs(ex.eir_clientid, ex.eir_sequenceid),
                                             kPrincipal, 1).status);
}

}  // namespace
}  // namespace manifold::state::testing
