// Named limits of the NFSv4.1 server state (DESIGN.md section 8: every table in memory has a
// bound). Every bound the state module enforces is here, with the status a client gets when it
// is hit and the reason for that status, so that the protocol layer, the docs and the tests name
// the same number.
//
// Which status at a full table. NFS4ERR_RESOURCE is an NFSv4.0 status: RFC 7863's nfsstat4 says
// "NFS4ERR_RESOURCE is not a valid error in NFSv4.1" and it is in no operation's list of valid
// errors in RFC 8881 section 15.2. NFSv4.1 reports the size of a COMPOUND with
// NFS4ERR_TOO_MANY_OPS / NFS4ERR_REQ_TOO_BIG / NFS4ERR_REP_TOO_BIG (RFC 8881 2.10.6.4, 18.46.3),
// and everything else with the exhaustion statuses each operation allows: NFS4ERR_DELAY when
// waiting may help (a lapsed client frees room), NFS4ERR_NOSPC where the operation lists it and
// retrying cannot help, NFS4ERR_SERVERFAULT when no status fits (as Linux knfsd does for its
// client limit in EXCHANGE_ID).
#pragma once

#include <cstdint>

#include "xdr/nfs4.h"

namespace manifold::state {

struct StateLimits {
  // ---- leases and grace (RFC 8881 8.3, 8.4.2) ----
  // The lease every client gets (the lease_time attribute). SEQUENCE renews it.
  uint32_t lease_time_s = 90;
  // The grace period after a restart; 0 means "the same as lease_time_s" (RFC 8881 8.4.2.1:
  // at least one lease period so every client can notice the restart and reclaim).
  uint32_t grace_time_s = 0;

  // ---- tables ----
  // Client IDs, confirmed and unconfirmed (EXCHANGE_ID: kClientsMaxStatus).
  uint32_t clients_max = 16384;
  // Sessions of one client (CREATE_SESSION: kSessionsPerClientMaxStatus).
  uint32_t sessions_per_client_max = 16;
  // Slots of one session's fore channel: ca_maxrequests is clamped to this (no error).
  uint32_t slots_per_session_max = 64;
  // Slots of one session's backchannel: the back ca_maxrequests is clamped to this.
  uint32_t back_slots_per_session_max = 16;
  // Connections bound to one session (BIND_CONN_TO_SESSION: kConnectionsPerSessionMaxStatus;
  // an implicit bind by SEQUENCE beyond the bound is skipped, the request still runs).
  uint32_t connections_per_session_max = 32;
  // Open stateids of one client (OPEN: kOpensPerClientMaxStatus).
  uint32_t opens_per_client_max = 65536;
  // Lock stateids of one client (LOCK: kLockStateidsPerClientMaxStatus).
  uint32_t lock_stateids_per_client_max = 65536;
  // Byte ranges locked on one file, all owners together (LOCK: kLocksPerFileMaxStatus; a LOCKU
  // that would split a range past the bound: kLocksPerFileSplitStatus).
  uint32_t locks_per_file_max = 4096;
  // Delegation and layout stateids of one client (registry: kRecallablePerClientMaxStatus).
  uint32_t delegations_per_client_max = 16384;
  uint32_t layouts_per_client_max = 65536;
  // A file whose delegation was recalled gets no new delegation for this long (RFC 8881 10.4.5
  // leaves it to the server): otherwise a reader that reopens it takes a new one while the
  // conflicting client retries, and the recall repeats. Files remembered: at most
  // recalled_files_max (the oldest are forgotten first when full).
  uint32_t no_delegation_after_recall_s = 30;
  uint32_t recalled_files_max = 65536;
  // Bytes reserved for reply caches over all sessions: each session reserves
  // slots x ca_maxresponsesize_cached; a session that cannot get one slot's worth is refused
  // (CREATE_SESSION: kReplyCacheBytesMaxStatus), otherwise its slot count is reduced.
  uint64_t reply_cache_bytes_max = 256ull << 20;

  // ---- fore channel, server side of the negotiation (RFC 8881 18.36.4) ----
  // ca_maxrequestsize / ca_maxresponsesize: a WRITE or READ of MANIFOLD_NFS4_IO_MAX plus headers.
  uint32_t request_bytes_max = MANIFOLD_NFS4_IO_MAX + 64 * 1024;
  uint32_t response_bytes_max = MANIFOLD_NFS4_IO_MAX + 64 * 1024;
  // ca_maxresponsesize_cached: enough for any metadata COMPOUND; READ data is not cached.
  uint32_t response_cached_bytes_max = 16 * 1024;
  // ca_maxoperations.
  uint32_t operations_max = MANIFOLD_NFS4_COMPOUND_OPS_MAX;

  uint32_t grace_time_effective_s() const { return grace_time_s ? grace_time_s : lease_time_s; }
};

// Statuses at each bound (see the header comment for the reasoning).
// EXCHANGE_ID lists DELAY and SERVERFAULT, not NOSPC; an expiring client frees room.
inline constexpr nfsstat4 kClientsMaxStatus = NFS4ERR_DELAY;
// Client IDs of one boot are a 32-bit counter: exhausting it is a server fault.
inline constexpr nfsstat4 kClientIdsExhaustedStatus = NFS4ERR_SERVERFAULT;
// CREATE_SESSION lists NOSPC; more sessions for the same client will not fit by waiting.
inline constexpr nfsstat4 kSessionsPerClientMaxStatus = NFS4ERR_NOSPC;
// The reply-cache budget is freed when other sessions go: waiting helps.
inline constexpr nfsstat4 kReplyCacheBytesMaxStatus = NFS4ERR_DELAY;
inline constexpr nfsstat4 kConnectionsPerSessionMaxStatus = NFS4ERR_DELAY;
// OPEN lists NOSPC.
inline constexpr nfsstat4 kOpensPerClientMaxStatus = NFS4ERR_NOSPC;
// LOCK allows DELAY as its only exhaustion status.
inline constexpr nfsstat4 kLockStateidsPerClientMaxStatus = NFS4ERR_DELAY;
inline constexpr nfsstat4 kLocksPerFileMaxStatus = NFS4ERR_DELAY;
// RFC 8881 15.1 (NFS4ERR_LOCK_RANGE): a sub-range request "the server does not support" --
// exactly an unlock whose split the range table cannot hold.
inline constexpr nfsstat4 kLocksPerFileSplitStatus = NFS4ERR_LOCK_RANGE;
inline constexpr nfsstat4 kRecallablePerClientMaxStatus = NFS4ERR_DELAY;

// Smallest fore-channel sizes a session can work with (RFC 8881 18.36.4: NFS4ERR_TOOSMALL).
// A COMPOUND carrying one SEQUENCE with AUTH_NONE: RPC call header 40 bytes + tag, minor
// version, op count, opcode 16 + SEQUENCE4args 32; the reply: RPC reply header 24 + status,
// tag, count, opcode, status 20 + SEQUENCE4resok 36.
inline constexpr uint32_t kForeRequestBytesMin = 88;
inline constexpr uint32_t kForeResponseBytesMin = 80;

}  // namespace manifold::state
