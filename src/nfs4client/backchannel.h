// The client's side of the NFSv4.1 backchannel (RFC 8881 2.10.3.1, 20): the server sends
// CB_NULL and CB_COMPOUND calls on the connection the client created the session on, and the
// client answers on the same connection.
//
// Backchannel is pure: Serve() takes one RPC call record and returns the reply record. It owns
// no socket; Nfs4Client hands it the records that rpc::Client::SetCallHandler delivers, so
// tests drive it directly with hand-made records.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "nfs4client/compound.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4client {

// Backchannel slots we offer in CREATE_SESSION (csa_back_chan_attrs.ca_maxrequests). One is
// what the Linux client offers too; calls are served one at a time on the connection thread.
inline constexpr uint32_t kBackSlots = 1;
// Ops per CB_COMPOUND we accept (ca_maxoperations): CB_SEQUENCE + a few recalls.
inline constexpr uint32_t kBackOpsMax = 8;

// Answers one callback op other than CB_SEQUENCE. Runs on the connection's I/O thread: it must
// not wait for a fore channel reply (that reply arrives on the same thread). Return nullopt for
// the default answer.
using CallbackHandler = std::function<std::optional<nfsstat4>(const nfs_cb_argop4& op)>;

struct CallbackCounts {
  uint64_t cb_null = 0;
  uint64_t cb_compound = 0;
  uint64_t cb_sequence = 0;
  uint64_t cb_recall = 0;
  uint64_t cb_layoutrecall = 0;
  uint64_t cb_other = 0;  // any other op
  uint64_t replays = 0;   // CB_SEQUENCE retries answered from the slot's cached reply
};

class Backchannel {
 public:
  Backchannel(uint32_t cb_program, CallbackHandler handler);

  // Set once CREATE_SESSION has returned; CB_SEQUENCE for another session gets BADSESSION.
  void SetSession(const SessionId& id);

  // One RPC call record (no record mark) in; the whole reply record (record mark included)
  // out, or nullopt to send nothing (a record too short to answer).
  std::optional<std::vector<uint8_t>> Serve(std::span<const uint8_t> record);

  CallbackCounts counts() const;

  // The default answer to each callback op (RFC 8881 20): OK for recalls and notifications
  // (the library holds no layouts: CB_LAYOUTRECALL gets NFS4ERR_NOMATCHING_LAYOUT).
  static nfsstat4 DefaultAnswer(const nfs_cb_argop4& op);

 private:
  struct Slot {
    sequenceid4 seqid = 0;
    std::vector<uint8_t> reply;  // the CB_COMPOUND4res bytes of the last request on the slot
  };
  std::vector<uint8_t> ServeCompound(std::span<const uint8_t> args, bool& garbage);
  // Checks CB_SEQUENCE against the session and slot. A retry of the slot's last request
  // (same seqid) fills `replay` with the cached reply instead.
  nfsstat4 Sequence(const CB_SEQUENCE4args& a, CB_SEQUENCE4resok& ok, std::vector<uint8_t>& replay);
  nfsstat4 Answer(const nfs_cb_argop4& op);

  uint32_t cb_program_;
  CallbackHandler handler_;
  mutable std::mutex mu_;  // calls come one at a time, but counts() may be read anywhere
  std::optional<SessionId> session_;
  Slot slots_[kBackSlots];
  CallbackCounts counts_;
};

}  // namespace manifold::nfs4client
