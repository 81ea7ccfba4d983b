#include "rpc/message.h"

#include "rpc/xdr_codec.h"

namespace manifold::rpc {

const char* AcceptStatName(AcceptStat s) {
  switch (s) {
    case AcceptStat::kSuccess: return "SUCCESS";
    case AcceptStat::kProgUnavail: return "PROG_UNAVAIL";
    case AcceptStat::kProgMismatch: return "PROG_MISMATCH";
    case AcceptStat::kProcUnavail: return "PROC_UNAVAIL";
    case AcceptStat::kGarbageArgs: return "GARBAGE_ARGS";
    case AcceptStat::kSystemErr: return "SYSTEM_ERR";
  }
  return "UNKNOWN";
}

namespace {

// RFC 5531 appendix A: struct authsys_parms.
bool ParseAuthSys(std::span<const uint8_t> body, AuthSys& out) {
  XdrReader r(body);
  out.stamp = r.U32();
  out.machinename = r.String(kAuthSysMachineNameMax);
  out.uid = r.U32();
  out.gid = r.U32();
  uint32_t n = r.U32();
  if (!r.ok() || n > kAuthSysGidsMax) return false;
  out.gids.resize(n);
  for (uint32_t i = 0; i < n; ++i) out.gids[i] = r.U32();
  return r.ok() && r.remaining() == 0;
}

}  // namespace

ParseOutcome ParseCall(std::span<const uint8_t> record, CallHeader& h,
                       std::span<const uint8_t>& args) {
  XdrReader r(record);
  h.xid = r.U32();
  uint32_t mtype = r.U32();
  if (!r.ok()) return ParseOutcome::kGarbage;
  if (mtype != kMsgCall) return ParseOutcome::kNotACall;
  h.rpcvers = r.U32();
  h.prog = r.U32();
  h.vers = r.U32();
  h.proc = r.U32();
  if (!r.ok()) return ParseOutcome::kGarbage;
  if (h.rpcvers != kRpcVersion) return ParseOutcome::kRpcMismatch;
  uint32_t flavor = r.U32();
  auto cred_body = r.Opaque(kAuthBodyBytesMax);
  uint32_t verf_flavor = r.U32();
  auto verf_body = r.Opaque(kAuthBodyBytesMax);
  (void)verf_body;
  if (!r.ok()) return ParseOutcome::kBadCred;
  // AUTH_NONE and AUTH_SYS carry an AUTH_NONE verifier; anything else is not understood.
  if (verf_flavor != uint32_t(AuthFlavor::kNone)) return ParseOutcome::kBadCred;
  switch (AuthFlavor(flavor)) {
    case AuthFlavor::kNone:
      h.cred.flavor = AuthFlavor::kNone;
      break;
    case AuthFlavor::kSys:
      h.cred.flavor = AuthFlavor::kSys;
      if (!ParseAuthSys(cred_body, h.cred.sys)) return ParseOutcome::kBadCred;
      break;
    default:
      return ParseOutcome::kBadCred;
  }
  args = r.Rest();
  h.bytes = record.size() - args.size();
  return ParseOutcome::kOk;
}

namespace {

void AppendReplyPrefix(XdrWriter& w, uint32_t xid, bool accepted) {
  w.U32(xid);
  w.U32(kMsgReply);
  w.U32(accepted ? 0 : 1);  // MSG_ACCEPTED / MSG_DENIED
}

}  // namespace

void AppendAcceptedReply(std::vector<uint8_t>& out, uint32_t xid, AcceptStat stat) {
  XdrWriter w(out);
  AppendReplyPrefix(w, xid, true);
  w.U32(uint32_t(AuthFlavor::kNone));  // verifier
  w.U32(0);
  w.U32(uint32_t(stat));
}

void AppendProgMismatch(std::vector<uint8_t>& out, uint32_t xid, uint32_t low, uint32_t high) {
  AppendAcceptedReply(out, xid, AcceptStat::kProgMismatch);
  XdrWriter w(out);
  w.U32(low);
  w.U32(high);
}

void AppendRpcMismatch(std::vector<uint8_t>& out, uint32_t xid) {
  XdrWriter w(out);
  AppendReplyPrefix(w, xid, false);
  w.U32(0);  // RPC_MISMATCH
  w.U32(kRpcVersion);
  w.U32(kRpcVersion);
}

void AppendAuthError(std::vector<uint8_t>& out, uint32_t xid, AuthStat stat) {
  XdrWriter w(out);
  AppendReplyPrefix(w, xid, false);
  w.U32(1);  // AUTH_ERROR
  w.U32(uint32_t(stat));
}

void AppendCall(std::vector<uint8_t>& out, uint32_t xid, uint32_t prog, uint32_t vers,
                uint32_t proc, const Credential& cred) {
  XdrWriter w(out);
  w.U32(xid);
  w.U32(kMsgCall);
  w.U32(kRpcVersion);
  w.U32(prog);
  w.U32(vers);
  w.U32(proc);
  if (cred.flavor == AuthFlavor::kSys) {
    std::vector<uint8_t> body;
    XdrWriter b(body);
    b.U32(cred.sys.stamp);
    b.String(cred.sys.machinename);
    b.U32(cred.sys.uid);
    b.U32(cred.sys.gid);
    b.U32(uint32_t(cred.sys.gids.size()));
    for (uint32_t g : cred.sys.gids) b.U32(g);
    w.U32(uint32_t(AuthFlavor::kSys));
    w.Opaque(body);
  } else {
    w.U32(uint32_t(AuthFlavor::kNone));
    w.U32(0);
  }
  w.U32(uint32_t(AuthFlavor::kNone));
  w.U32(0);
}

bool ParseReply(std::span<const uint8_t> record, ReplyHeader& h,
                std::span<const uint8_t>& results) {
  XdrReader r(record);
  h.xid = r.U32();
  if (r.U32() != kMsgReply) return false;
  uint32_t reply_stat = r.U32();
  if (!r.ok()) return false;
  if (reply_stat == 0) {
    h.accepted = true;
    r.U32();                     // verifier flavor
    r.Opaque(kAuthBodyBytesMax);  // verifier body
    h.accept_stat = AcceptStat(r.U32());
    if (h.accept_stat == AcceptStat::kProgMismatch) {
      h.mismatch_low = r.U32();
      h.mismatch_high = r.U32();
    }
  } else {
    h.accepted = false;
    h.reject_stat = r.U32();
    if (h.reject_stat == 0) {
      h.mismatch_low = r.U32();
      h.mismatch_high = r.U32();
    } else {
      h.auth_stat = r.U32();
    }
  }
  if (!r.ok()) return false;
  results = r.Rest();
  return true;
}

}  // namespace manifold::rpc
