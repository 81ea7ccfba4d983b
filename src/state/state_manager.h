// StateManager: all NFSv4.1 server state that is not the namespace -- client IDs, sessions and
// their reply caches, leases, the grace period, stateids, opens, byte-range locks, and the
// delegation/layout registry (RFC 8881 chapters 2.4, 2.10, 8, 9, 10, 12.5 and the operations of
// chapter 18 named below). Pure logic: no sockets, no RocksDB. Time comes from the Clock, client
// records go to a ClientRecordStore, recalls go out through a RecallSink.
//
// Who calls what:
//   - the compound loop: ExchangeId, CreateSession, Sequence (then SlotLease, see
//     session_table.h), DestroySession, BindConnToSession, BackchannelCtl, DestroyClientId,
//     ReclaimComplete, and the file-state operations with the session's client ID (from
//     SlotLease::clientid()) and the current filehandle's fileid;
//   - the RPC layer: ConnectionClosed when a TCP connection ends;
//   - the MDS: Recover once at start, ExpireClients periodically (every few seconds),
//     FindBackchannel / AcquireCallbackSlot to send callbacks, the registry for layouts.
//
// Statuses: every result carries an nfsstat4 spelled as the RFC does (status_names.h). Every
// table is bounded (limits.h); the status at each bound is chosen there.
//
// Thread safety: every method may be called from any thread. Locks, always taken in this order:
//   1. clients   (ClientTable::mu)     EXCHANGE_ID, CREATE_SESSION, DESTROY_CLIENTID,
//                                      RECLAIM_COMPLETE, Recover, ExpireClients
//   2. sessions  (SessionTable::mu)    SEQUENCE and SlotLease take only this one
//   3. files     (FileStateTable::mu)  opens, locks, stateids, registry
//   4. grace     (GracePeriod, internal, innermost)
// The ClientRecordStore is called with only the clients lock held (a synced write serialises
// client confirmation, never SEQUENCE or file operations). The RecallSink is called with no
// lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "state/client_record_store.h"
#include "state/client_table.h"
#include "state/clock.h"
#include "state/file_state.h"
#include "state/grace.h"
#include "state/limits.h"
#include "state/recall_sink.h"
#include "state/session_table.h"
#include "state/stateid.h"
#include "state/types.h"

namespace manifold::state {

// What EXCHANGE_ID tells about this server (18.35.3), given by the MDS.
struct ServerIdentity {
  uint64_t so_minor_id = 0;
  std::string so_major_id;   // same for every instance serving the same clients (2.10.5)
  std::string server_scope;  // eir_server_scope
  // eir_server_impl_id; an empty domain and name send none.
  std::string impl_domain;
  std::string impl_name;
  nfstime4 impl_date{};
};

struct StateConfig {
  // Distinct for every start of the MDS, never 0 or 0xffffffff (IsValidBootEpoch): the MDS keeps
  // a durable counter. Client IDs, session IDs and stateids carry it, so that those of an earlier
  // instance are recognised (NFS4ERR_STALE_CLIENTID, stateid.h).
  uint32_t boot_epoch = 1;
  ServerIdentity identity;
  StateLimits limits;
};

struct ExchangeIdResult {
  ExchangeIdResult() = default;
  ExchangeIdResult(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design
  nfsstat4 status = NFS4_OK;
  clientid4 eir_clientid = 0;
  sequenceid4 eir_sequenceid = 0;
  uint32_t eir_flags = 0;
};

// Fills an EXCHANGE_ID4resok from the result and the server identity: SP4_NONE, and pointers
// into `identity` and `impl_storage` (the one eir_server_impl_id), valid while they live.
void FillExchangeIdResok(const ExchangeIdResult& result, const ServerIdentity& identity,
                         nfs_impl_id4* impl_storage, EXCHANGE_ID4resok* out);

// The size of the COMPOUND a SEQUENCE starts, for the channel limits (18.46.3).
struct CompoundShape {
  uint32_t op_count = 0;       // operations in the COMPOUND, SEQUENCE included
  uint64_t request_bytes = 0;  // the whole RPC call
};

struct SequenceOutcome {
  enum class Kind {
    kExecute,  // a new request: run the operations, then lease->Complete(reply bytes)
    kReplay,   // a retry: send `replay` as the reply, byte for byte, run nothing
    kError,    // SEQUENCE fails with `status`; nothing runs and nothing is cached
  };
  Kind kind = Kind::kError;
  nfsstat4 status = NFS4ERR_SERVERFAULT;
  std::optional<SlotLease> lease;
  std::vector<uint8_t> replay;
};

struct BindConnResult {
  BindConnResult() = default;
  BindConnResult(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design
  nfsstat4 status = NFS4_OK;
  BIND_CONN_TO_SESSION4resok resok{};
};

// A backchannel slot for one CB_COMPOUND (CB_SEQUENCE arguments).
struct CallbackSlotGrant {
  slotid4 slotid = 0;
  sequenceid4 sequenceid = 0;
  slotid4 highest_slotid = 0;
};

// One client dropped by ExpireClients (lease expired, no courtesy period).
struct ExpiredClient {
  clientid4 clientid = 0;
  std::string owner;
  bool confirmed = false;
  uint32_t sessions = 0;
  DroppedState dropped;
};

struct StateStats {
  size_t clients = 0;
  size_t sessions = 0;
  size_t stateids = 0;
  size_t files = 0;
  uint64_t reply_cache_reserved_bytes = 0;
  bool in_grace = false;
};

class StateManager {
 public:
  // `clock`, `store` and `recall_sink` (may be null: recalls are dropped) must outlive this.
  StateManager(StateConfig config, const Clock& clock, ClientRecordStore& store,
               RecallSink* recall_sink = nullptr);
  StateManager(const StateManager&) = delete;
  StateManager& operator=(const StateManager&) = delete;

  // The MDS's way to send recalls, when it is built after this; set before serving.
  void SetRecallSink(RecallSink* sink) { recall_sink_.store(sink); }

  // 8.4.2.1: reads the client records left by the previous instance and starts the grace period
  // for the owners that may reclaim. Call once, before serving.
  Status Recover();

  // ---- client IDs ----
  // 18.35: the case table of 18.35.4 on (co_ownerid, co_verifier, principal, confirmed).
  // `principal` is the caller's authenticated identity (AUTH_SYS: uid and machine name).
  ExchangeIdResult ExchangeId(const EXCHANGE_ID4args& args, std::string_view principal);
  // 18.36: creates a session; confirms the client ID on its first success. `conn` is bound to
  // the fore channel (and the backchannel with CREATE_SESSION4_FLAG_CONN_BACK_CHAN).
  CreateSessionReply CreateSession(const CREATE_SESSION4args& args, std::string_view principal,
                                   ConnectionId conn);
  // 18.50.
  nfsstat4 DestroyClientId(clientid4 clientid);
  // 18.51. `clientid` is the session's.
  nfsstat4 ReclaimComplete(clientid4 clientid, bool rca_one_fs);

  // ---- sessions ----
  // 18.46: the first operation of every sessioned COMPOUND. `now` is the compound's time.
  SequenceOutcome Sequence(const SEQUENCE4args& args, ConnectionId conn, Instant now,
                           const CompoundShape& shape);
  // 18.37. `compound_session`: the session of this COMPOUND's SEQUENCE, if any (its own slot is
  // busy running this very request).
  nfsstat4 DestroySession(const sessionid4 sessionid, const SessionId* compound_session);
  // 18.34.
  BindConnResult BindConnToSession(const BIND_CONN_TO_SESSION4args& args, ConnectionId conn);
  // 18.33. `session` is the COMPOUND's.
  nfsstat4 BackchannelCtl(const SessionId& session, const BACKCHANNEL_CTL4args& args);
  void ConnectionClosed(ConnectionId conn);

  // ---- the backchannel, for the MDS ----
  std::optional<BackchannelRoute> FindBackchannel(clientid4 clientid);
  // Whether FindBackchannel would find one, without copying it (OPEN asks for every open).
  bool HasBackchannel(clientid4 clientid);
  // A callback on this session failed for transport reasons: SEQUENCE reports
  // SEQ4_STATUS_CB_PATH_DOWN(_SESSION) until the client binds a new back connection or sends
  // BACKCHANNEL_CTL.
  void ReportBackchannelDown(const SessionId& session);
  std::optional<CallbackSlotGrant> AcquireCallbackSlot(const SessionId& session);
  // `answered`: the client replied, so the slot's sequence id moves on; otherwise a retry reuses
  // it (20.9.3 semantics mirror 18.46.3).
  void ReleaseCallbackSlot(const SessionId& session, slotid4 slotid, bool answered);

  // ---- leases (8.3) ----
  // Drops every client whose lease ran out (no courtesy period): its sessions, opens, locks,
  // delegations, layouts and its record on stable storage. A client with a COMPOUND in
  // progress is kept (that COMPOUND renews it). Also ends a grace period whose time is up, and
  // revokes delegations whose recall went unanswered for a lease.
  std::vector<ExpiredClient> ExpireClients(Instant now);

  // ---- opens (9.7, 9.9, 18.16, 18.18, 18.2) ----
  OpenResult Open(const OpenRequest& req);
  StateidResult OpenDowngrade(clientid4 clientid, uint64_t fileid, const OPEN_DOWNGRADE4args& args);
  // FileStateTable::UndoUpgrade.
  bool UndoUpgrade(clientid4 clientid, uint64_t fileid, const stateid4& upgraded,
                   const OpenBefore& before);
  StateidResult Close(clientid4 clientid, uint64_t fileid, const CLOSE4args& args);
  // True while any client has a live (not revoked) open of the file. Opens go by CLOSE, lease
  // expiry, revocation and a client's restart (its new client ID replaces the old one and its
  // state; DESTROY_CLIENTID is refused while opens remain). The MDS keeps a file whose last
  // name was removed until this is false (and, after a restart, until the grace period ends).
  bool HasOpens(uint64_t fileid);

  // ---- byte-range locks (18.10, 18.11, 18.12) ----
  LockResult Lock(clientid4 clientid, uint64_t fileid, const LOCK4args& args);
  LockResult LockTest(clientid4 clientid, uint64_t fileid, const LOCKT4args& args);
  StateidResult Unlock(clientid4 clientid, uint64_t fileid, const LOCKU4args& args);

  // ---- stateids (8.2, 18.48, 18.38) ----
  std::vector<nfsstat4> TestStateids(clientid4 clientid, std::span<const stateid4> stateids);
  nfsstat4 FreeStateid(clientid4 clientid, const stateid4& stateid);
  // May this stateid READ (want_write false) or WRITE the file? (file_stateids.cc, CheckIo.)
  nfsstat4 CheckIo(clientid4 clientid, const stateid4& stateid, uint64_t fileid, bool want_write);

  // ---- delegations and layouts: OPEN grants delegations (delegations.cc); the registry ----
  StateidResult RecordDelegation(clientid4 clientid, uint64_t fileid, open_delegation_type4 type);
  StateidResult RecordLayout(clientid4 clientid, uint64_t fileid, layouttype4 type);
  std::optional<RecallableInfo> FindRecallable(const stateid4& stateid);
  std::vector<RecallableInfo> DelegationsOnFile(uint64_t fileid);
  std::vector<RecallableInfo> LayoutsOnFile(uint64_t fileid);
  StateidResult BumpLayoutSeqid(clientid4 clientid, const stateid4& stateid);
  // DELEGRETURN / a full LAYOUTRETURN.
  nfsstat4 RemoveRecallable(clientid4 clientid, const stateid4& stateid);
  // Asks the RecallSink to recall it (once). False when unknown, revoked or already asked.
  bool RequestRecall(const stateid4& stateid);
  // 10.4: an operation of `caller` on the file that other clients' delegations do not allow
  // (`write`: a change to the file, its attributes or its names; otherwise a read of data or
  // attributes a write delegation may hold back). NFS4ERR_DELAY while they are recalled; the
  // recalls go out. A delegation not returned within a lease is revoked (ExpireClients).
  nfsstat4 BreakDelegations(clientid4 caller, uint64_t fileid, bool write);
  // False when no delegation is held at all (no lock taken): callers skip finding the file.
  bool AnyDelegations() const { return files_.live_delegations() > 0; }
  bool AnyWriteDelegations() const { return files_.live_write_delegations() > 0; }

  // ---- revocation (8.2.4, 18.46.3 status flags) ----
  nfsstat4 RevokeStateid(const stateid4& stateid, RevokeReason reason);
  uint32_t RevokeClientState(clientid4 clientid, RevokeReason reason);

  // ---- introspection ----
  const StateConfig& config() const { return config_; }
  bool InGrace();
  StateStats Stats();

 private:
  struct Negotiated;

  // EXCHANGE_ID (clients.cc).
  ExchangeIdResult ExchangeIdReply(const Client& c) const;
  ExchangeIdResult ExchangeIdUpdate(Client* conf, const Verifier& v, std::string_view principal,
                                    Instant now);
  bool ClientInUseLocked(const Client& c, Instant now);
  // CREATE_SESSION (clients.cc).
  nfsstat4 Negotiate(const CREATE_SESSION4args& args, Negotiated* out) const;
  nfsstat4 CheckSessionRoom(const Client& c, const Negotiated& n);
  nfsstat4 ConfirmClientLocked(Client& c, Instant now);
  CreateSessionReply MakeSession(Client& c, const Negotiated& n, ConnectionId conn);
  // Dropping clients and ending grace (state_manager.cc); the clients lock is held.
  ExpiredClient DropClientLocked(Client& c, bool delete_record);
  // DropClientLocked, unless `still_idle` (checked under the sessions lock, before anything
  // goes) says no; then nullopt and nothing changes.
  std::optional<ExpiredClient> DropClientIfLocked(
      Client& c, bool delete_record, const std::function<bool(const Client&)>& still_idle);
  void EndGraceLocked();
  void PutRecordLocked(const Client& c, bool reclaim_complete, const char* why);
  // SEQUENCE (sessions.cc).
  SequenceOutcome SequenceLocked(Session& s, const SEQUENCE4args& args, ConnectionId conn,
                                 Instant now);
  uint32_t StatusFlagsLocked(const Session& s);
  void SendRecalls(const std::vector<RecallRequest>& recalls);

  const StateConfig config_;
  const Clock& clock_;
  ClientRecordStore& store_;
  std::atomic<RecallSink*> recall_sink_;
  GracePeriod grace_;
  ClientTable clients_;
  SessionTable sessions_;
  FileStateTable files_;
};

}  // namespace manifold::state
