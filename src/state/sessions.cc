// StateManager: sessions -- SEQUENCE (RFC 8881 18.46, 2.10.6), DESTROY_SESSION (18.37),
// BIND_CONN_TO_SESSION (18.34), BACKCHANNEL_CTL (18.33), and the backchannel for the MDS.
#include "state/state_manager.h"

namespace manifold::state {
namespace {

SequenceOutcome SequenceError(nfsstat4 status) {
  SequenceOutcome out;
  out.kind = SequenceOutcome::Kind::kError;
  out.status = status;
  return out;
}

// 2.10.6.1, 18.46.3 for a slot and a presented sequence id (unsigned arithmetic wraps):
//   slot busy, same seqid      -> NFS4ERR_DELAY (the original is still running, 2.10.6.2)
//   slot busy, other seqid     -> NFS4ERR_SEQ_MISORDERED
//   last + 1                   -> a new request
//   last, slot used before     -> a retry: replay the cached reply
//   anything else              -> NFS4ERR_SEQ_MISORDERED (also seqid 0 on a fresh slot)
enum class SlotCheck { kNew, kRetry, kBusy, kMisordered };

SlotCheck CheckSlot(const Slot& slot, sequenceid4 seqid) {
  if (slot.in_progress) return seqid == slot.seqid ? SlotCheck::kBusy : SlotCheck::kMisordered;
  if (seqid == slot.seqid + 1) return SlotCheck::kNew;
  if (seqid == slot.seqid && slot.used) return SlotCheck::kRetry;
  return SlotCheck::kMisordered;
}

}  // namespace

// 18.46.3 sr_status_flags. No courtesy period exists: an expired client is gone entirely and
// learns it from NFS4ERR_BADSESSION / NFS4ERR_STALE_CLIENTID, so EXPIRED_ALL_STATE_REVOKED and
// RESTART_RECLAIM_NEEDED are never set; the others report what is true now.
uint32_t StateManager::StatusFlagsLocked(const Session& s) {
  uint32_t flags = 0;
  if (!SessionTable::BackchannelUsable(s)) {
    flags |= SEQ4_STATUS_CB_PATH_DOWN_SESSION;
    if (!sessions_.ClientHasUsableBackchannel(s.clientid)) flags |= SEQ4_STATUS_CB_PATH_DOWN;
  }
  const ClientLive& c = *s.client;
  if (c.revoked_recallable.load() > 0) flags |= SEQ4_STATUS_RECALLABLE_STATE_REVOKED;
  if (c.revoked_admin.load() > 0) flags |= SEQ4_STATUS_ADMIN_STATE_REVOKED;
  if (c.revoked_expired.load() > 0) flags |= SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED;
  return flags;
}

SequenceOutcome StateManager::SequenceLocked(Session& s, const SEQUENCE4args& args,
                                             ConnectionId conn, Instant now) {
  Slot& slot = s.slots[args.sa_slotid];
  switch (CheckSlot(slot, args.sa_sequenceid)) {
    case SlotCheck::kBusy:
      return SequenceError(NFS4ERR_DELAY);
    case SlotCheck::kMisordered:
      return SequenceError(NFS4ERR_SEQ_MISORDERED);
    case SlotCheck::kRetry: {
      // 2.10.6.1.3: a retry whose reply was not cached.
      if (!slot.cached) return SequenceError(NFS4ERR_RETRY_UNCACHED_REP);
      SequenceOutcome out;
      out.kind = SequenceOutcome::Kind::kReplay;
      out.status = NFS4_OK;
      out.replay = slot.reply;
      return out;
    }
    case SlotCheck::kNew:
      break;
  }
  // 18.34.3: with SP4_NONE "simply sending a COMPOUND request with a SEQUENCE operation is
  // sufficient to associate the connection with the session". Past connections_per_session_max
  // the request still runs, unbound.
  sessions_.Bind(s, conn, kConnFore);
  s.client->Renew(now);  // 8.3
  slot.seqid = args.sa_sequenceid;
  slot.used = true;
  slot.in_progress = true;
  slot.cached = false;
  std::vector<uint8_t>().swap(slot.reply);
  s.slots_in_progress++;

  SequenceOutcome out;
  out.kind = SequenceOutcome::Kind::kExecute;
  out.status = NFS4_OK;
  SlotLease lease;
  lease.table_ = &sessions_;
  lease.clock_ = &clock_;
  lease.client_ = s.client;
  lease.sessionid_ = s.id;
  lease.slotid_ = args.sa_slotid;
  lease.seqid_ = args.sa_sequenceid;
  lease.clientid_ = s.clientid;
  lease.cachethis_ = args.sa_cachethis;
  lease.max_response_bytes_ = s.fore.ca_maxresponsesize;
  lease.max_cached_response_bytes_ = s.fore.ca_maxresponsesize_cached;
  lease.max_operations_ = s.fore.ca_maxoperations;
  SEQUENCE4resok& r = lease.resok_;
  CopySessionId(s.id, r.sr_sessionid);
  r.sr_sequenceid = args.sa_sequenceid;
  r.sr_slotid = args.sa_slotid;
  // The table never shrinks or grows after CREATE_SESSION: highest and target are its top.
  r.sr_highest_slotid = static_cast<slotid4>(s.slots.size() - 1);
  r.sr_target_highest_slotid = r.sr_highest_slotid;
  r.sr_status_flags = StatusFlagsLocked(s);
  out.lease.emplace(std::move(lease));
  return out;
}

// 18.46.3, in this order: the session, then the COMPOUND's size against the negotiated
// channel (NFS4ERR_TOO_MANY_OPS, NFS4ERR_REQ_TOO_BIG -- checked before the slot, so such a
// request neither uses nor caches anything), then the slot id (NFS4ERR_BADSLOT), then the
// slot's sequence. sa_highest_slotid is a hint about the client's own use and is not checked.
SequenceOutcome StateManager::Sequence(const SEQUENCE4args& args, ConnectionId conn, Instant now,
                                       const CompoundShape& shape) {
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(ToSessionId(args.sa_sessionid));
  if (s == nullptr) return SequenceError(NFS4ERR_BADSESSION);
  if (shape.op_count > s->fore.ca_maxoperations) return SequenceError(NFS4ERR_TOO_MANY_OPS);
  if (shape.request_bytes > s->fore.ca_maxrequestsize) return SequenceError(NFS4ERR_REQ_TOO_BIG);
  if (args.sa_slotid >= s->slots.size()) return SequenceError(NFS4ERR_BADSLOT);
  return SequenceLocked(*s, args, conn, now);
}

// 18.37.3: the session goes with its reply cache. While another COMPOUND runs in one of its
// slots the answer is NFS4ERR_DELAY; the COMPOUND carrying this DESTROY_SESSION may itself run
// in the session (its own slot does not count, and its lease then completes into nothing).
// With SP4_NONE (the only protection offered) any connection may destroy the session.
nfsstat4 StateManager::DestroySession(const sessionid4 sessionid,
                                      const SessionId* compound_session) {
  SessionId id = ToSessionId(sessionid);
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(id);
  if (s == nullptr) return NFS4ERR_BADSESSION;
  uint32_t own = compound_session != nullptr && *compound_session == id ? 1 : 0;
  if (s->slots_in_progress > own) return NFS4ERR_DELAY;
  sessions_.Remove(id);
  return NFS4_OK;
}

// 18.34.3: binds the connection in the directions asked. CDFC4_FORE_OR_BOTH and
// CDFC4_BACK_OR_BOTH get both (the server can use any connection for both). RDMA mode is not
// supported (bctsr_use_conn_in_rdma_mode FALSE).
BindConnResult StateManager::BindConnToSession(const BIND_CONN_TO_SESSION4args& args,
                                               ConnectionId conn) {
  uint32_t dirs = 0;
  channel_dir_from_server4 answer = CDFS4_BOTH;
  switch (RawEnum(args.bctsa_dir)) {
    case CDFC4_FORE:
      dirs = kConnFore;
      answer = CDFS4_FORE;
      break;
    case CDFC4_BACK:
      dirs = kConnBack;
      answer = CDFS4_BACK;
      break;
    case CDFC4_FORE_OR_BOTH:
    case CDFC4_BACK_OR_BOTH:
      dirs = kConnFore | kConnBack;
      break;
    default:
      return {NFS4ERR_INVAL};
  }
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(ToSessionId(args.bctsa_sessid));
  if (s == nullptr) return {NFS4ERR_BADSESSION};
  if (!sessions_.Bind(*s, conn, dirs)) return {kConnectionsPerSessionMaxStatus};
  s->client->Renew(clock_.Now());
  BindConnResult r;
  CopySessionId(s->id, r.resok.bctsr_sessid);
  r.resok.bctsr_dir = answer;
  r.resok.bctsr_use_conn_in_rdma_mode = false;
  return r;
}

// 18.33.3: new callback program and security for the session's backchannel. The server uses
// the first AUTH_NONE / AUTH_SYS entry; a list that has none is NFS4ERR_ENCR_ALG_UNSUPP (no
// RPCSEC_GSS yet; Linux knfsd answers the same). An empty list leaves no usable security.
nfsstat4 StateManager::BackchannelCtl(const SessionId& session, const BACKCHANNEL_CTL4args& args) {
  std::optional<CallbackSec> sec =
      PickCallbackSec(args.bca_sec_parms.bca_sec_parms_val, args.bca_sec_parms.bca_sec_parms_len);
  if (!sec && args.bca_sec_parms.bca_sec_parms_len > 0) return NFS4ERR_ENCR_ALG_UNSUPP;
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(session);
  if (s == nullptr) return NFS4ERR_BADSESSION;
  s->cb_program = args.bca_cb_program;
  s->cb_sec = sec;
  s->backchannel_down = false;
  return NFS4_OK;
}

void StateManager::ConnectionClosed(ConnectionId conn) {
  std::lock_guard lock(sessions_.mu());
  sessions_.ConnectionClosed(conn);
}

std::optional<BackchannelRoute> StateManager::FindBackchannel(clientid4 clientid) {
  std::lock_guard lock(sessions_.mu());
  return sessions_.Route(clientid);
}

bool StateManager::HasBackchannel(clientid4 clientid) {
  std::lock_guard lock(sessions_.mu());
  return sessions_.ClientHasUsableBackchannel(clientid);
}

void StateManager::ReportBackchannelDown(const SessionId& session) {
  std::lock_guard lock(sessions_.mu());
  if (Session* s = sessions_.Find(session)) s->backchannel_down = true;
}

std::optional<CallbackSlotGrant> StateManager::AcquireCallbackSlot(const SessionId& session) {
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(session);
  if (s == nullptr) return std::nullopt;
  for (slotid4 i = 0; i < s->cb_slots.size(); ++i) {
    CallbackSlot& slot = s->cb_slots[i];
    if (slot.in_use) continue;
    slot.in_use = true;
    return CallbackSlotGrant{i, slot.seqid_last + 1, static_cast<slotid4>(s->cb_slots.size() - 1)};
  }
  return std::nullopt;
}

void StateManager::ReleaseCallbackSlot(const SessionId& session, slotid4 slotid, bool answered) {
  std::lock_guard lock(sessions_.mu());
  Session* s = sessions_.Find(session);
  if (s == nullptr || slotid >= s->cb_slots.size()) return;
  CallbackSlot& slot = s->cb_slots[slotid];
  slot.in_use = false;
  if (answered) slot.seqid_last++;
}

}  // namespace manifold::state
