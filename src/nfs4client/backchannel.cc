#include "nfs4client/backchannel.h"

#include <cstring>

#include "rpc/message.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"

namespace manifold::nfs4client {

Backchannel::Backchannel(uint32_t cb_program, CallbackHandler handler)
    : cb_program_(cb_program), handler_(std::move(handler)) {}

void Backchannel::SetSession(const SessionId& id) {
  std::lock_guard lock(mu_);
  session_ = id;
}

CallbackCounts Backchannel::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::optional<std::vector<uint8_t>> Backchannel::Serve(std::span<const uint8_t> record) {
  rpc::CallHeader h;
  std::span<const uint8_t> args;
  std::vector<uint8_t> out(rpc::kRecordMarkBytes);
  switch (rpc::ParseCall(record, h, args)) {
    case rpc::ParseOutcome::kGarbage:
    case rpc::ParseOutcome::kNotACall:
      return std::nullopt;
    case rpc::ParseOutcome::kRpcMismatch:
      rpc::AppendRpcMismatch(out, h.xid);
      break;
    case rpc::ParseOutcome::kBadCred:
      rpc::AppendAuthError(out, h.xid, rpc::AuthStat::kBadCred);
      break;
    case rpc::ParseOutcome::kOk:
      if (h.prog != cb_program_) {
        rpc::AppendAcceptedReply(out, h.xid, rpc::AcceptStat::kProgUnavail);
      } else if (h.vers != NFS_CB) {
        rpc::AppendProgMismatch(out, h.xid, NFS_CB, NFS_CB);
      } else if (h.proc == CB_NULL) {
        std::lock_guard lock(mu_);
        counts_.cb_null++;
        rpc::AppendAcceptedReply(out, h.xid, rpc::AcceptStat::kSuccess);
      } else if (h.proc == CB_COMPOUND) {
        bool garbage = false;
        std::vector<uint8_t> body = ServeCompound(args, garbage);
        rpc::AppendAcceptedReply(
            out, h.xid, garbage ? rpc::AcceptStat::kGarbageArgs : rpc::AcceptStat::kSuccess);
        out.insert(out.end(), body.begin(), body.end());
      } else {
        rpc::AppendAcceptedReply(out, h.xid, rpc::AcceptStat::kProcUnavail);
      }
      break;
  }
  rpc::WriteRecordMark(out);
  return out;
}

// RFC 8881 20.9.3: CB_SEQUENCE must come first; a slot's seqid advances by one per new
// request; a retry of the last request gets the cached reply.
nfsstat4 Backchannel::Sequence(const CB_SEQUENCE4args& a, CB_SEQUENCE4resok& ok,
                               std::vector<uint8_t>& replay) {
  std::lock_guard lock(mu_);
  counts_.cb_sequence++;
  if (!session_ || std::memcmp(a.csa_sessionid, session_->data(), session_->size()) != 0) {
    return NFS4ERR_BADSESSION;
  }
  if (a.csa_slotid >= kBackSlots) return NFS4ERR_BADSLOT;
  Slot& s = slots_[a.csa_slotid];
  if (a.csa_sequenceid == s.seqid && !s.reply.empty()) {
    counts_.replays++;
    replay = s.reply;
    return NFS4_OK;
  }
  if (a.csa_sequenceid != s.seqid + 1) return NFS4ERR_SEQ_MISORDERED;
  s.seqid = a.csa_sequenceid;
  s.reply.clear();
  std::memcpy(ok.csr_sessionid, a.csa_sessionid, sizeof ok.csr_sessionid);
  ok.csr_sequenceid = a.csa_sequenceid;
  ok.csr_slotid = a.csa_slotid;
  ok.csr_highest_slotid = kBackSlots - 1;
  ok.csr_target_highest_slotid = kBackSlots - 1;
  return NFS4_OK;
}

nfsstat4 Backchannel::DefaultAnswer(const nfs_cb_argop4& op) {
  switch (op.argop) {
    case OP_CB_LAYOUTRECALL:
      return NFS4ERR_NOMATCHING_LAYOUT;  // RFC 8881 20.3.3: we hold none it could mean
    case OP_CB_RECALL:
    case OP_CB_RECALL_ANY:
    case OP_CB_RECALLABLE_OBJ_AVAIL:
    case OP_CB_RECALL_SLOT:
    case OP_CB_NOTIFY:
    case OP_CB_NOTIFY_LOCK:
    case OP_CB_NOTIFY_DEVICEID:
    case OP_CB_WANTS_CANCELLED:
    case OP_CB_OFFLOAD:
      return NFS4_OK;
    case OP_CB_PUSH_DELEG:
      return NFS4ERR_REJECT_DELEG;
    case OP_CB_GETATTR:
      return NFS4ERR_BADHANDLE;  // we never hold a write delegation with cached changes
    default:
      return NFS4ERR_OP_ILLEGAL;
  }
}

nfsstat4 Backchannel::Answer(const nfs_cb_argop4& op) {
  {
    std::lock_guard lock(mu_);
    if (op.argop == OP_CB_RECALL) {
      counts_.cb_recall++;
    } else if (op.argop == OP_CB_LAYOUTRECALL) {
      counts_.cb_layoutrecall++;
    } else {
      counts_.cb_other++;
    }
  }
  std::optional<nfsstat4> answer;
  if (handler_) answer = handler_(op);  // outside mu_: the handler may call counts()
  return answer.value_or(DefaultAnswer(op));
}

namespace {

void SetCbStatus(nfs_cb_resop4& r, nfsstat4 status) {
  // Every CB_*4res begins with its nfsstat4, so the union's first bytes are the status.
  std::memcpy(&r.nfs_cb_resop4_u, &status, sizeof status);
}

}  // namespace

std::vector<uint8_t> Backchannel::ServeCompound(std::span<const uint8_t> args, bool& garbage) {
  rpc::XdrDecoded<CB_COMPOUND4args> a{xdrproc_t(xdr_CB_COMPOUND4args)};
  if (!a.Decode(args)) {
    garbage = true;
    return {};
  }
  {
    std::lock_guard lock(mu_);
    counts_.cb_compound++;
  }
  const u_int n = a->argarray.argarray_len;
  std::vector<nfs_cb_resop4> res;
  res.reserve(n);
  CB_COMPOUND4res r{};
  r.tag = a->tag;
  r.status = NFS4_OK;
  if (a->minorversion != 1 && a->minorversion != 2) r.status = NFS4ERR_MINOR_VERS_MISMATCH;
  if (n > kBackOpsMax) r.status = NFS4ERR_TOO_MANY_OPS;
  std::optional<slotid4> slot;
  for (u_int i = 0; i < n && r.status == NFS4_OK; i++) {
    const nfs_cb_argop4& op = a->argarray.argarray_val[i];
    nfs_cb_resop4& out = res.emplace_back();
    std::memset(&out, 0, sizeof out);
    out.resop = op.argop;
    nfsstat4 st;
    if (i == 0 && op.argop == OP_CB_SEQUENCE) {
      std::vector<uint8_t> replay;
      auto& ok = out.nfs_cb_resop4_u.opcbsequence.CB_SEQUENCE4res_u.csr_resok4;
      st = Sequence(op.nfs_cb_argop4_u.opcbsequence, ok, replay);
      if (!replay.empty()) return replay;
      if (st == NFS4_OK) slot = op.nfs_cb_argop4_u.opcbsequence.csa_slotid;
    } else if (i == 0) {
      st = NFS4ERR_OP_NOT_IN_SESSION;
    } else if (op.argop == OP_CB_SEQUENCE) {
      st = NFS4ERR_SEQUENCE_POS;
    } else {
      st = Answer(op);
    }
    SetCbStatus(out, st);
    r.status = st;
  }
  r.resarray.resarray_len = u_int(res.size());
  r.resarray.resarray_val = res.data();
  std::vector<uint8_t> bytes;
  if (!rpc::XdrEncode(bytes, xdrproc_t(xdr_CB_COMPOUND4res), &r)) {
    garbage = true;  // cannot happen for what we build; answer something rather than nothing
    return {};
  }
  if (slot) {
    std::lock_guard lock(mu_);
    slots_[*slot].reply = bytes;
  }
  return bytes;
}

}  // namespace manifold::nfs4client
