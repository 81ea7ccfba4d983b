// StateManager: client IDs -- EXCHANGE_ID (RFC 8881 18.35), CREATE_SESSION (18.36),
// DESTROY_CLIENTID (18.50), RECLAIM_COMPLETE (18.51).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "state/state_manager.h"

namespace manifold::state {
namespace {

// 18.35.3: eia_flags a client may send (as Linux knfsd's EXCHGID4_FLAG_MASK_A). CONFIRMED_R is
// the server's to set and, like any unknown bit, makes the request NFS4ERR_INVAL.
constexpr uint32_t kEiaFlagsAllowed =
    EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |
    EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_MASK_PNFS | EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;

// 13.1: this server is a pNFS metadata server, whatever role the client asked about. Referrals,
// migration and principal-bound stateids are not offered.
constexpr uint32_t kServerRoleFlags = EXCHGID4_FLAG_USE_PNFS_MDS;

// 18.35.4: the first csa_sequence of a new client ID; eir_sequenceid tells the client.
constexpr sequenceid4 kFirstCreateSessionSequence = 1;

// 2.10.8.3 / 18.35.4: state protection.
//  - SP4_MACH_CRED needs the client's machine credential to be an RPCSEC_GSS context with
//    integrity or privacy; this server speaks AUTH_SYS only, so no request can meet it:
//    NFS4ERR_INVAL (Linux knfsd gives the same for a request without integrity protection).
//  - SP4_SSV: the server supports none of the offered encryption algorithms:
//    NFS4ERR_ENCR_ALG_UNSUPP (18.35.4; knfsd answers the same).
// Clients fall back to SP4_NONE (Linux tries MACH_CRED only with krb5i/krb5p mounts).
nfsstat4 CheckExchangeIdArgs(const EXCHANGE_ID4args& args) {
  const client_owner4& co = args.eia_clientowner;
  if (co.co_ownerid.co_ownerid_len == 0) return NFS4ERR_INVAL;
  if ((args.eia_flags & ~kEiaFlagsAllowed) != 0) return NFS4ERR_INVAL;
  switch (RawEnum(args.eia_state_protect.spa_how)) {
    case SP4_NONE:
      return NFS4_OK;
    case SP4_MACH_CRED:
      return NFS4ERR_INVAL;
    case SP4_SSV:
      return NFS4ERR_ENCR_ALG_UNSUPP;
  }
  return NFS4ERR_INVAL;
}

// A failed write to stable storage: the client may retry a transient failure; anything else is
// the server's fault.
nfsstat4 StoreFailureStatus(const Status& s) {
  return s.code() == Code::kUnavailable ? NFS4ERR_DELAY : NFS4ERR_SERVERFAULT;
}

}  // namespace

struct StateManager::Negotiated {
  ChannelAttrs fore;
  ChannelAttrs back;
  uint32_t csr_flags = 0;
  uint32_t cb_program = 0;
  std::optional<CallbackSec> cb_sec;
};

// ---------------------------------------------------------------------------------------------
// EXCHANGE_ID

ExchangeIdResult StateManager::ExchangeIdReply(const Client& c) const {
  ExchangeIdResult r;
  r.eir_clientid = c.clientid;
  r.eir_sequenceid = c.cs_sequence_last + 1;
  r.eir_flags = kServerRoleFlags | (c.confirmed ? EXCHGID4_FLAG_CONFIRMED_R : 0);
  return r;
}

// 18.35.4 cases 6-9: EXCHGID4_FLAG_UPD_CONFIRMED_REC_A asks to update a confirmed record.
// Nothing this server keeps from EXCHANGE_ID is updatable, so case 6 answers like case 2.
ExchangeIdResult StateManager::ExchangeIdUpdate(Client* conf, const Verifier& v,
                                                std::string_view principal, Instant now) {
  if (conf == nullptr) return {NFS4ERR_NOENT};              // case 7: no confirmed record
  if (conf->verifier != v) return {NFS4ERR_NOT_SAME};       // case 8: wrong verifier
  if (conf->principal != principal) return {NFS4ERR_PERM};  // case 9: wrong principal
  conf->live->Renew(now);                                   // case 6: update
  return ExchangeIdReply(*conf);
}

// 18.35.4 case 3: "has state" -- sessions, opens, locks, delegations or layouts under a lease
// that has not expired.
bool StateManager::ClientInUseLocked(const Client& c, Instant now) {
  if (now - c.live->last_renewed() >= std::chrono::seconds(config_.limits.lease_time_s)) {
    return false;
  }
  {
    std::lock_guard s(sessions_.mu());
    if (sessions_.CountForClient(c.clientid) > 0) return true;
  }
  std::lock_guard f(files_.mu());
  return files_.HasState(c.clientid);
}

ExchangeIdResult StateManager::ExchangeId(const EXCHANGE_ID4args& args,
                                          std::string_view principal) {
  nfsstat4 st = CheckExchangeIdArgs(args);
  if (st != NFS4_OK) return {st};
  const client_owner4& co = args.eia_clientowner;
  std::string_view owner = OpaqueView(co.co_ownerid.co_ownerid_val, co.co_ownerid.co_ownerid_len);
  Verifier verifier = ToVerifier(co.co_verifier);
  Instant now = clock_.Now();
  std::lock_guard lock(clients_.mu());
  Client* conf = clients_.FindConfirmed(owner);
  if (args.eia_flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) {
    return ExchangeIdUpdate(conf, verifier, principal, now);
  }
  if (conf != nullptr && conf->principal != principal) {
    // Case 3, client collision: another principal owns this co_ownerid. While the old client
    // ID has state the new one is refused; without state it is treated as case 1.
    if (ClientInUseLocked(*conf, now)) return {NFS4ERR_CLID_INUSE};
    DropClientLocked(*conf, /*delete_record=*/true);
    conf = nullptr;
  }
  if (conf != nullptr && conf->verifier == verifier) {
    // Case 2, non-update on an existing client ID (a retry, or a new connection of the same
    // client instance): the same client ID, CONFIRMED_R.
    conf->live->Renew(now);
    return ExchangeIdReply(*conf);
  }
  // Case 5, client restart (a confirmed record with another verifier): a new unconfirmed client
  // ID beside the confirmed one, whose state goes when the new one is confirmed (18.36.4).
  // Case 4, replacement of an unconfirmed record: the old unconfirmed record goes now.
  // Case 1, new owner.
  if (Client* unconf = clients_.FindUnconfirmed(owner)) DropClientLocked(*unconf, false);
  Client* c = nullptr;
  st = clients_.Create(owner, verifier, principal, now, &c);
  if (st != NFS4_OK) return {st};
  c->cs_sequence_last = kFirstCreateSessionSequence - 1;
  return ExchangeIdReply(*c);
}

void FillExchangeIdResok(const ExchangeIdResult& result, const ServerIdentity& identity,
                         nfs_impl_id4* impl_storage, EXCHANGE_ID4resok* out) {
  *out = EXCHANGE_ID4resok{};
  out->eir_clientid = result.eir_clientid;
  out->eir_sequenceid = result.eir_sequenceid;
  out->eir_flags = result.eir_flags;
  out->eir_state_protect.spr_how = SP4_NONE;
  out->eir_server_owner.so_minor_id = identity.so_minor_id;
  out->eir_server_owner.so_major_id.so_major_id_len = identity.so_major_id.size();
  out->eir_server_owner.so_major_id.so_major_id_val =
      const_cast<char*>(identity.so_major_id.data());
  out->eir_server_scope.eir_server_scope_len = identity.server_scope.size();
  out->eir_server_scope.eir_server_scope_val = const_cast<char*>(identity.server_scope.data());
  if (identity.impl_domain.empty() && identity.impl_name.empty()) return;
  nfs_impl_id4& impl = *impl_storage;
  impl.nii_domain.utf8string_len = identity.impl_domain.size();
  impl.nii_domain.utf8string_val = const_cast<char*>(identity.impl_domain.data());
  impl.nii_name.utf8string_len = identity.impl_name.size();
  impl.nii_name.utf8string_val = const_cast<char*>(identity.impl_name.data());
  impl.nii_date = identity.impl_date;
  out->eir_server_impl_id.eir_server_impl_id_len = 1;
  out->eir_server_impl_id.eir_server_impl_id_val = &impl;
}

// ---------------------------------------------------------------------------------------------
// CREATE_SESSION

// The smallest back-channel messages the server's callbacks fit in: an RPC header, CB_COMPOUND
// with CB_SEQUENCE and one recall (the largest, CB_LAYOUTRECALL, is well under this).
constexpr uint32_t kBackBytesMin = 512;

// 18.36.4: the server may lower every fore-channel attribute to its own limits (and must not
// raise any); sizes too small for even a lone SEQUENCE are NFS4ERR_TOOSMALL. ca_headerpadsize
// is 0 and ca_rdma_ird empty (no RDMA). The backchannel attributes are the client's (it is the
// receiver there), but the server uses at most back_slots_per_session_max slots.
// csr_flags: CONN_BACK_CHAN is granted when asked (the connection carries the backchannel);
// PERSIST is not (the reply cache lives in memory); CONN_RDMA is not.
// Callback security: the first AUTH_NONE / AUTH_SYS entry. None usable leaves the session
// without a backchannel (SEQUENCE then reports SEQ4_STATUS_CB_PATH_DOWN) instead of failing the
// mount: the session is useful without callbacks.
nfsstat4 StateManager::Negotiate(const CREATE_SESSION4args& args, Negotiated* out) const {
  const StateLimits& lim = config_.limits;
  // 18.36.3: flags this server does not know are a malformed request.
  constexpr uint32_t kKnownFlags = CREATE_SESSION4_FLAG_PERSIST |
                                   CREATE_SESSION4_FLAG_CONN_BACK_CHAN |
                                   CREATE_SESSION4_FLAG_CONN_RDMA;
  if (args.csa_flags & ~kKnownFlags) return NFS4ERR_INVAL;
  ChannelAttrs fore = FromXdr(args.csa_fore_chan_attrs);
  if (fore.ca_maxrequestsize < kForeRequestBytesMin ||
      fore.ca_maxresponsesize < kForeResponseBytesMin || fore.ca_maxoperations == 0) {
    return NFS4ERR_TOOSMALL;
  }
  // The back channel must carry at least a CB_COMPOUND with CB_SEQUENCE and a CB_RECALL-sized
  // operation, both ways (18.36.3: too small for the server's callbacks is NFS4ERR_TOOSMALL).
  ChannelAttrs back_asked = FromXdr(args.csa_back_chan_attrs);
  if (back_asked.ca_maxrequestsize < kBackBytesMin || back_asked.ca_maxresponsesize < kBackBytesMin ||
      back_asked.ca_maxoperations < 2 || back_asked.ca_maxrequests == 0) {
    return NFS4ERR_TOOSMALL;
  }
  fore.ca_headerpadsize = 0;
  fore.ca_maxrequestsize = std::min(fore.ca_maxrequestsize, lim.request_bytes_max);
  fore.ca_maxresponsesize = std::min(fore.ca_maxresponsesize, lim.response_bytes_max);
  fore.ca_maxresponsesize_cached = std::min(
      {fore.ca_maxresponsesize_cached, lim.response_cached_bytes_max, fore.ca_maxresponsesize});
  fore.ca_maxoperations = std::min(fore.ca_maxoperations, lim.operations_max);
  fore.ca_maxrequests = std::clamp(fore.ca_maxrequests, 1u, lim.slots_per_session_max);
  ChannelAttrs back = FromXdr(args.csa_back_chan_attrs);
  back.ca_headerpadsize = 0;
  back.ca_maxrequests = std::min(back.ca_maxrequests, lim.back_slots_per_session_max);
  out->fore = fore;
  out->back = back;
  out->csr_flags = args.csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
  out->cb_program = args.csa_cb_program;
  out->cb_sec =
      PickCallbackSec(args.csa_sec_parms.csa_sec_parms_val, args.csa_sec_parms.csa_sec_parms_len);
  return NFS4_OK;
}

// Bounds checked before the client is confirmed, so that a refused session changes nothing.
// Only CREATE_SESSION adds sessions and it holds the clients lock, so room found here is still
// there when the session is made.
nfsstat4 StateManager::CheckSessionRoom(const Client& c, const Negotiated& n) {
  std::lock_guard lock(sessions_.mu());
  if (sessions_.CountForClient(c.clientid) >= config_.limits.sessions_per_client_max) {
    return kSessionsPerClientMaxStatus;
  }
  uint64_t free_bytes =
      config_.limits.reply_cache_bytes_max - sessions_.reply_cache_reserved_bytes();
  if (free_bytes < n.fore.ca_maxresponsesize_cached) return kReplyCacheBytesMaxStatus;
  return NFS4_OK;
}

// 18.36.4: the first successful CREATE_SESSION confirms the client ID. Its record goes to stable
// storage first (an acknowledged confirmation survives a restart); then a confirmed client ID
// of the same owner (18.35.4 case 5, the client restarted) is dropped with all its state.
nfsstat4 StateManager::ConfirmClientLocked(Client& c, Instant now) {
  bool may_reclaim = grace_.OwnerMayReclaim(c.owner, now);
  ClientRecord rec{c.owner, c.clientid, c.verifier, c.principal, may_reclaim};
  Status s = store_.Put(c.owner, EncodeClientRecord(rec));
  if (!s.ok()) {
    spdlog::error("state: client {:#x}: writing its record failed: {}", c.clientid, s.ToString());
    return StoreFailureStatus(s);
  }
  if (Client* old = clients_.FindConfirmed(c.owner)) {
    spdlog::info("state: client {:#x} replaces {:#x} (client restarted)", c.clientid,
                 old->clientid);
    DropClientLocked(*old, /*delete_record=*/false);
  }
  clients_.Confirm(c);
  {
    std::lock_guard lock(files_.mu());
    files_.RegisterClient(c.live);
  }
  grace_.Attach(c.clientid, c.owner, now);
  return NFS4_OK;
}

CreateSessionReply StateManager::MakeSession(Client& c, const Negotiated& n, ConnectionId conn) {
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Create(c.live, n.fore, n.back);
  if (s == nullptr) return {kReplyCacheBytesMaxStatus};  // not reached: CheckSessionRoom
  s->csr_flags = n.csr_flags;
  s->cb_program = n.cb_program;
  s->cb_sec = n.cb_sec;
  uint32_t dirs = kConnFore;
  if (n.csr_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) dirs |= kConnBack;
  sessions_.Bind(*s, conn, dirs);
  CreateSessionReply reply;
  CopySessionId(s->id, reply.resok.csr_sessionid);
  reply.resok.csr_flags = s->csr_flags;
  reply.resok.csr_fore_chan_attrs = ToXdr(s->fore);
  reply.resok.csr_back_chan_attrs = ToXdr(s->back);
  return reply;
}

// 18.36.4 sequencing: csa_sequence equal to the last executed one is a replay and gets that
// CREATE_SESSION's reply again (the session is not created twice); the next one executes;
// anything else is NFS4ERR_SEQ_MISORDERED. Only successes advance the sequence and are cached:
// a refused CREATE_SESSION changed nothing, so its retry is simply evaluated again.
CreateSessionReply StateManager::CreateSession(const CREATE_SESSION4args& args,
                                               std::string_view principal, ConnectionId conn) {
  Instant now = clock_.Now();
  std::lock_guard lock(clients_.mu());
  Client* c = clients_.Find(args.csa_clientid);
  if (c == nullptr) return {NFS4ERR_STALE_CLIENTID};  // unknown, or of an earlier instance
  if (args.csa_sequence == c->cs_sequence_last && c->cs_reply_valid) return c->cs_reply;
  if (args.csa_sequence != c->cs_sequence_last + 1) return {NFS4ERR_SEQ_MISORDERED};
  // 18.36.4: an unconfirmed client ID may only be confirmed by the principal that created it.
  if (!c->confirmed && c->principal != principal) return {NFS4ERR_CLID_INUSE};
  Negotiated n;
  nfsstat4 st = Negotiate(args, &n);
  if (st == NFS4_OK) st = CheckSessionRoom(*c, n);
  if (st == NFS4_OK && !c->confirmed) st = ConfirmClientLocked(*c, now);
  if (st != NFS4_OK) return {st};
  CreateSessionReply reply = MakeSession(*c, n, conn);
  reply.resok.csr_sequence = args.csa_sequence;
  c->cs_sequence_last = args.csa_sequence;
  c->cs_reply = reply;
  c->cs_reply_valid = true;
  c->live->Renew(now);
  return reply;
}

// ---------------------------------------------------------------------------------------------
// DESTROY_CLIENTID, RECLAIM_COMPLETE

// 18.50.3: a client ID with sessions, opens, locks, delegations or layouts under an unexpired
// lease is NFS4ERR_CLIENTID_BUSY; an unknown one (or one of an earlier instance) is
// NFS4ERR_STALE_CLIENTID. Its record leaves stable storage with it.
nfsstat4 StateManager::DestroyClientId(clientid4 clientid) {
  std::lock_guard lock(clients_.mu());
  Client* c = clients_.Find(clientid);
  if (c == nullptr) return NFS4ERR_STALE_CLIENTID;
  {
    std::lock_guard s(sessions_.mu());
    if (sessions_.CountForClient(clientid) > 0) return NFS4ERR_CLIENTID_BUSY;
  }
  {
    std::lock_guard f(files_.mu());
    if (files_.HasState(clientid)) return NFS4ERR_CLIENTID_BUSY;
  }
  DropClientLocked(*c, /*delete_record=*/true);
  return NFS4_OK;
}

// 18.51.3: the client has reclaimed everything it will. A second one is
// NFS4ERR_COMPLETE_ALREADY (18.51.4). rca_one_fs TRUE (one file system done) is accepted and
// not tracked: the server has one file system and waits for the global one. The record is
// rewritten with reclaim_complete set -- from now on the client may hold state, so after a
// restart it may reclaim -- and when it was the last known owner the grace period ends.
nfsstat4 StateManager::ReclaimComplete(clientid4 clientid, bool rca_one_fs) {
  if (rca_one_fs) return NFS4_OK;
  Instant now = clock_.Now();
  std::lock_guard lock(clients_.mu());
  Client* c = clients_.Find(clientid);
  if (c == nullptr || !c->confirmed) return NFS4ERR_STALE_CLIENTID;
  nfsstat4 st = grace_.CheckReclaimComplete(clientid);
  if (st != NFS4_OK) return st;
  ClientRecord rec{c->owner, c->clientid, c->verifier, c->principal, true};
  Status s = store_.Put(c->owner, EncodeClientRecord(rec));
  if (!s.ok()) {
    spdlog::error("state: client {:#x}: writing its record failed: {}", clientid, s.ToString());
    return StoreFailureStatus(s);
  }
  if (grace_.MarkReclaimComplete(clientid, now)) {
    spdlog::info("state: every known client has reclaimed; the grace period ends early");
    EndGraceLocked();
  }
  return NFS4_OK;
}

}  // namespace manifold::state
