// Sessions (RFC 8881 2.10, 18.36 CREATE_SESSION, 18.37 DESTROY_SESSION, 18.46 SEQUENCE): the fore
// channel slot table with its reply cache, the connections bound to each session, and the
// backchannel (callback program, security, callback slots).
//
// Thread safety: SessionTable is guarded by its mu(); every method requires it held, except
// that SlotLease locks it itself. Lock order: see state_manager.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "state/client_live.h"
#include "state/limits.h"
#include "state/types.h"

namespace manifold::state {

// One fore-channel slot (2.10.6.1).
struct Slot {
  sequenceid4 seqid = 0;     // of the last request accepted on the slot
  bool used = false;         // a request has been accepted since the session began
  bool in_progress = false;  // that request has not completed yet
  bool cached = false;       // `reply` holds its whole COMPOUND4res
  std::vector<uint8_t> reply;
};

// One backchannel slot, used by the MDS for CB_SEQUENCE (20.9).
struct CallbackSlot {
  sequenceid4 seqid_last = 0;  // of the last callback the client answered
  bool in_use = false;
};

enum ConnDir : uint32_t { kConnFore = 1, kConnBack = 2 };

struct Session {
  SessionId id{};
  clientid4 clientid = 0;
  std::shared_ptr<ClientLive> client;
  ChannelAttrs fore;
  ChannelAttrs back;
  uint32_t csr_flags = 0;
  std::vector<Slot> slots;
  uint32_t slots_in_progress = 0;
  uint64_t reply_cache_reserved_bytes = 0;
  // Backchannel (18.36 csa_cb_program / csa_sec_parms, 18.33 BACKCHANNEL_CTL).
  uint32_t cb_program = 0;
  std::optional<CallbackSec> cb_sec;  // nullopt: the client offered nothing usable
  bool backchannel_down = false;      // the MDS found the backchannel broken
  std::vector<CallbackSlot> cb_slots;
  std::map<ConnectionId, uint32_t> connections;  // ConnDir bits
};

struct SessionIdHash {
  size_t operator()(const SessionId& id) const;
};

// The first callback_sec_parms4 the server can use: AUTH_NONE or AUTH_SYS (no RPCSEC_GSS yet).
std::optional<CallbackSec> PickCallbackSec(const callback_sec_parms4* parms, u_int count);

// What the MDS needs to send a callback (CB_SEQUENCE + CB_RECALL / CB_LAYOUTRECALL).
struct BackchannelRoute {
  SessionId sessionid{};
  ConnectionId conn = 0;
  uint32_t cb_program = 0;
  CallbackSec sec;
  ChannelAttrs back;
};

class SessionTable {
 public:
  SessionTable(uint32_t boot_epoch, const StateLimits& limits);

  std::mutex& mu() { return mu_; }

  // Creates a session of `client` with the (already negotiated) attributes. Reserves
  // slots x ca_maxresponsesize_cached of the reply-cache budget, lowering the slot count to
  // fit; nullptr when not even one slot fits.
  Session* Create(std::shared_ptr<ClientLive> client, const ChannelAttrs& fore,
                  const ChannelAttrs& back);
  Session* Find(const SessionId& id);
  void Remove(const SessionId& id);
  std::vector<Session*> ForClient(clientid4 clientid);
  size_t CountForClient(clientid4 clientid) const;
  size_t size() const { return sessions_.size(); }

  // Binds `conn` to the session for `dirs` (ConnDir bits, added to any it has). False when the
  // session already has connections_per_session_max other connections.
  bool Bind(Session& s, ConnectionId conn, uint32_t dirs);
  // Forgets a closed connection everywhere.
  void ConnectionClosed(ConnectionId conn);

  // A backchannel the server can call: a back-bound connection, usable security, not reported
  // broken, at least one callback slot.
  static bool BackchannelUsable(const Session& s);
  bool ClientHasUsableBackchannel(clientid4 clientid);
  std::optional<BackchannelRoute> Route(clientid4 clientid);

  uint64_t reply_cache_reserved_bytes() const { return reply_cache_reserved_bytes_; }

 private:
  SessionId NewId(clientid4 clientid);

  std::mutex mu_;
  const uint32_t boot_epoch_;
  const StateLimits limits_;
  uint64_t next_serial_ = 1;
  uint64_t reply_cache_reserved_bytes_ = 0;
  std::unordered_map<SessionId, std::unique_ptr<Session>, SessionIdHash> sessions_;
  std::unordered_map<clientid4, std::vector<SessionId>> by_client_;
  std::unordered_map<ConnectionId, std::vector<SessionId>> by_conn_;
};

// The right to run one COMPOUND in one slot, handed out by StateManager::Sequence for a new
// request (RFC 8881 18.46.3: sa_sequenceid = the slot's last + 1).
//
// The compound loop:
//   1. before encoding each operation's result, calls CheckReplySize(bytes the COMPOUND4res
//      would have with it) and, when that is not NFS4_OK, makes that status the operation's
//      result and stops (NFS4ERR_REP_TOO_BIG, or NFS4ERR_REP_TOO_BIG_TO_CACHE when
//      sa_cachethis is set and the reply would not fit the slot's cache, 18.46.3 / 2.10.6.1.3);
//   2. after the last operation, calls Complete(whole encoded COMPOUND4res) and sends it.
// Complete caches the bytes for a retry of the same slot and seqid, which then gets them byte
// for byte (2.10.6.2). Destroying a lease that was not completed (the request failed before
// a reply existed, the connection dropped) frees the slot without caching: a retry then gets
// NFS4ERR_RETRY_UNCACHED_REP, never a second execution.
//
// Caching decision: every reply that fits ca_maxresponsesize_cached is cached, whatever
// sa_cachethis says. 2.10.6.1.3 lets the server cache when the client did not ask; the memory
// is already reserved per slot at CREATE_SESSION, so caching costs one copy and makes a retry
// exactly-once even for a client that under-reports sa_cachethis. A reply larger than the cache
// with sa_cachethis false is not cached (retry: NFS4ERR_RETRY_UNCACHED_REP).
//
// A lease must not outlive the StateManager that issued it. Move-only.
class SlotLease {
 public:
  SlotLease(SlotLease&& other) noexcept;
  SlotLease& operator=(SlotLease&& other) noexcept;
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
  ~SlotLease();

  // The SEQUENCE4resok to encode as the first result.
  const SEQUENCE4resok& resok() const { return resok_; }
  clientid4 clientid() const { return clientid_; }
  const SessionId& sessionid() const { return sessionid_; }
  slotid4 slotid() const { return slotid_; }
  bool cachethis() const { return cachethis_; }
  uint64_t max_response_bytes() const { return max_response_bytes_; }
  uint64_t max_cached_response_bytes() const { return max_cached_response_bytes_; }
  uint32_t max_operations() const { return max_operations_; }

  // NFS4_OK, NFS4ERR_REP_TOO_BIG, or NFS4ERR_REP_TOO_BIG_TO_CACHE (sa_cachethis only).
  nfsstat4 CheckReplySize(uint64_t reply_bytes) const;

  // Caches `compound_reply` (when it fits) and frees the slot. Once only.
  void Complete(std::span<const uint8_t> compound_reply);
  bool active() const { return table_ != nullptr; }

 private:
  friend class StateManager;
  SlotLease() = default;
  void Finish(std::span<const uint8_t>* reply);

  SessionTable* table_ = nullptr;
  const Clock* clock_ = nullptr;  // renews the lease when the compound completes
  std::shared_ptr<ClientLive> client_;
  SessionId sessionid_{};
  slotid4 slotid_ = 0;
  sequenceid4 seqid_ = 0;
  clientid4 clientid_ = 0;
  bool cachethis_ = false;
  uint64_t max_response_bytes_ = 0;
  uint64_t max_cached_response_bytes_ = 0;
  uint32_t max_operations_ = 0;
  SEQUENCE4resok resok_{};
};

}  // namespace manifold::state
