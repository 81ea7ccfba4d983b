// Test helpers: build the RPC call records an NFSv4.1 server sends on the backchannel, and
// read the client's replies.
#pragma once

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "nfs4client/compound.h"
#include "rpc/message.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4client::testing {

inline nfs_cb_argop4 CbSequence(const SessionId& id, sequenceid4 seq, slotid4 slot = 0) {
  nfs_cb_argop4 op{};
  op.argop = OP_CB_SEQUENCE;
  CB_SEQUENCE4args& a = op.nfs_cb_argop4_u.opcbsequence;
  std::memcpy(a.csa_sessionid, id.data(), id.size());
  a.csa_sequenceid = seq;
  a.csa_slotid = slot;
  return op;
}

// `fh` must outlive the record's construction.
inline nfs_cb_argop4 CbRecall(const stateid4& s, std::vector<uint8_t>& fh) {
  nfs_cb_argop4 op{};
  op.argop = OP_CB_RECALL;
  op.nfs_cb_argop4_u.opcbrecall.stateid = s;
  op.nfs_cb_argop4_u.opcbrecall.fh = {u_int(fh.size()), reinterpret_cast<char*>(fh.data())};
  return op;
}

inline nfs_cb_argop4 CbLayoutRecallAll() {
  nfs_cb_argop4 op{};
  op.argop = OP_CB_LAYOUTRECALL;
  CB_LAYOUTRECALL4args& a = op.nfs_cb_argop4_u.opcblayoutrecall;
  a.clora_type = LAYOUT4_FLEX_FILES;
  a.clora_iomode = LAYOUTIOMODE4_ANY;
  a.clora_recall.lor_recalltype = LAYOUTRECALL4_ALL;
  return op;
}

// A call record without its record mark (what rpc::Client hands a call handler).
inline std::vector<uint8_t> CallRecord(uint32_t xid, uint32_t proc,
                                       std::vector<nfs_cb_argop4> ops = {},
                                       uint32_t prog = NFS4_CALLBACK, uint32_t minor = 1) {
  std::vector<uint8_t> out;
  rpc::AppendCall(out, xid, prog, NFS_CB, proc, rpc::Credential{});
  if (proc == CB_COMPOUND) {
    CB_COMPOUND4args a{};
    a.minorversion = minor;
    a.argarray = {u_int(ops.size()), ops.data()};
    rpc::XdrEncode(out, xdrproc_t(xdr_CB_COMPOUND4args), &a);
  }
  return out;
}

// Parses a reply record (with record mark). Returns the results span's bytes, or nullopt.
struct CbReply {
  rpc::ReplyHeader header;
  std::vector<uint8_t> results;
};
inline std::optional<CbReply> ParseCbReply(std::span<const uint8_t> with_mark) {
  if (with_mark.size() < rpc::kRecordMarkBytes) return std::nullopt;
  CbReply r;
  std::span<const uint8_t> results;
  if (!rpc::ParseReply(with_mark.subspan(rpc::kRecordMarkBytes), r.header, results)) {
    return std::nullopt;
  }
  r.results.assign(results.begin(), results.end());
  return r;
}

}  // namespace manifold::nfs4client::testing
