#include "nfs4/compound.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <utility>

#include "meta/change_marks.h"
#include "nfs4/mds.h"
#include "rpc/xdr_codec.h"
#include "state/stateid.h"

namespace manifold::nfs4 {

namespace {

// Appends a result arm; a result that cannot be encoded is a server bug.
bool AppendResult(std::vector<uint8_t>& out, nfs_resop4& res, size_t result_bytes = 0) {
  // The op number and status come before the operation's own result.
  const size_t guess = result_bytes ? result_bytes + 8 : rpc::kXdrBytesGuess;
  return rpc::XdrEncode(out, xdrproc_t(xdr_nfs_resop4), &res, guess);
}

// The rules every operation shares (RFC 8881 2.10.6.2, 16.2.3, 18.46.3); checked once here
// instead of in each handler. Returns NFS4_OK when the operation may run.
nfsstat4 CheckPlacement(const CompoundContext& ctx, uint32_t opnum, const OpInfo& info) {
  if (ctx.minorversion < 2 && (info.flags & kMinor2)) return NFS4ERR_OP_ILLEGAL;
  if (info.flags & kMinor0Only) return NFS4ERR_NOTSUPP;
  bool first = ctx.op_index == 0;
  if (opnum == OP_SEQUENCE) return first ? NFS4_OK : NFS4ERR_SEQUENCE_POS;
  if (first) {
    if (!(info.flags & kSessionless)) return NFS4ERR_OP_NOT_IN_SESSION;
    if (ctx.op_count > 1) return NFS4ERR_NOT_ONLY_OP;
  }
  if ((info.flags & kNeedsCurrentFh) && !ctx.current_fh) return NFS4ERR_NOFILEHANDLE;
  return NFS4_OK;
}

// RFC 8881 2.6.3.1: a caller whose auth flavor its export rule does not take may still run its
// client and session and learn the flavors (SECINFO, SECINFO_NO_NAME); what uses a filehandle
// gets NFS4ERR_WRONGSEC. A put-filehandle operation gets it only when the next operation is
// none of those that may follow it (2.6.3.1.1.1-7): another put, SAVEFH, LOOKUP, LOOKUPP, OPEN,
// SECINFO, SECINFO_NO_NAME, or nothing.
nfsstat4 CheckFlavor(const CompoundContext& ctx, uint32_t opnum, const OpInfo& info,
                     std::optional<uint32_t> next_opnum) {
  if (ctx.export_rule->Allows(ctx.call.header.cred.flavor)) return NFS4_OK;
  switch (opnum) {
    case OP_SECINFO:
    case OP_SECINFO_NO_NAME:
    case OP_SAVEFH:
      return NFS4_OK;
    case OP_PUTFH:
    case OP_PUTROOTFH:
    case OP_PUTPUBFH:
    case OP_RESTOREFH:
      if (!next_opnum) return NFS4_OK;
      switch (*next_opnum) {
        case OP_PUTFH: case OP_PUTROOTFH: case OP_PUTPUBFH: case OP_RESTOREFH: case OP_SAVEFH:
        case OP_LOOKUP: case OP_LOOKUPP: case OP_OPEN: case OP_SECINFO: case OP_SECINFO_NO_NAME:
          return NFS4_OK;
        default:
          return NFS4ERR_WRONGSEC;
      }
    default:
      return (info.flags & kNeedsCurrentFh) ? NFS4ERR_WRONGSEC : NFS4_OK;
  }
}

// A refused client (no export rule for its address) is logged at most this often.
constexpr std::chrono::seconds kRefusedLogInterval{1};

bool RefusedLogDue() {
  static std::atomic<int64_t> last_ns{0};
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t last = last_ns.load(std::memory_order_relaxed);
  return now - last >= std::chrono::nanoseconds(kRefusedLogInterval).count() &&
         last_ns.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

struct ReplyBuilder {
  std::vector<uint8_t>& out;
  size_t start;        // where COMPOUND4res begins in `out`
  size_t count_at = 0;  // offset of resarray's length
  uint32_t results = 0;
  nfsstat4 status = NFS4_OK;

  void Begin(std::span<const uint8_t> tag) {
    rpc::XdrWriter w(out);
    w.U32(NFS4_OK);  // patched in Finish
    w.Opaque(tag);
    count_at = out.size();
    w.U32(0);  // patched in Finish
  }
  void Finish() {
    rpc::PutU32(out.data() + start, status);
    rpc::PutU32(out.data() + count_at, results);
  }
};

// Encodes a result that only carries a status (for errors found before a handler ran).
bool AppendStatusOnly(ReplyBuilder& reply, uint32_t opnum, nfsstat4 status) {
  nfs_resop4 res;
  std::memset(&res, 0, sizeof(res));
  res.resop = nfs_opnum4(opnum);
  SetResultStatus(res, status);
  reply.status = status;
  reply.results++;
  return AppendResult(reply.out, res);
}

}  // namespace

nfsstat4 ResolveCurrentStateid(const CompoundContext& ctx, stateid4& stateid) {
  if (!state::IsCurrentStateid(stateid)) return NFS4_OK;
  if (!ctx.current_stateid) return NFS4ERR_BAD_STATEID;
  stateid = *ctx.current_stateid;
  return NFS4_OK;
}

void SetResultStatus(nfs_resop4& res, nfsstat4 status) {
  // Every arm of nfs_resop4's union is a struct or union whose first member is nfsstat4.
  std::memcpy(&res.nfs_resop4_u, &status, sizeof(status));
}

namespace {

// An OPEN or SETATTR that sets the size: it may cut data on a volume.
bool SetsSize(const nfs_argop4& arg) {
  const bitmap4* mask = nullptr;
  if (arg.argop == OP_SETATTR) {
    mask = &arg.nfs_argop4_u.opsetattr.obj_attributes.attrmask;
  } else if (arg.argop == OP_OPEN && arg.nfs_argop4_u.opopen.openhow.opentype == OPEN4_CREATE) {
    const createhow4& how = arg.nfs_argop4_u.opopen.openhow.openflag4_u.how;
    if (how.mode == UNCHECKED4 || how.mode == GUARDED4) {
      mask = &how.createhow4_u.createattrs.attrmask;
    } else if (how.mode == EXCLUSIVE4_1) {
      mask = &how.createhow4_u.ch_createboth.cva_attrs.attrmask;
    }
  }
  if (mask == nullptr) return false;
  constexpr uint32_t kWord = FATTR4_SIZE / 32, kBit = FATTR4_SIZE % 32;
  return mask->bitmap4_len > kWord && (mask->bitmap4_val[kWord] >> kBit & 1u);
}

}  // namespace

bool CompoundRunsInline(std::span<const uint8_t> args, const Mds& mds) {
  const bool deferred = mds.commits_deferred();
  rpc::XdrReader r(args);
  r.Opaque(kTagBytesMax);
  r.U32();  // minorversion: a bad one is answered by the loop, inline or not
  uint32_t op_count = r.U32();
  if (!r.ok() || op_count == 0 || op_count > kCompoundOpsMax) return false;
  std::span<const uint8_t> rest = r.Rest();
  XDR xdrs;
  xdrmem_create(&xdrs, reinterpret_cast<char*>(const_cast<uint8_t*>(rest.data())),
                u_int(rest.size()), XDR_DECODE);
  bool runs_inline = true;
  for (uint32_t i = 0; i < op_count && runs_inline; ++i) {
    uint32_t opnum = xdr_getpos(&xdrs) + 4 <= rest.size()
                         ? rpc::GetU32(rest.data() + xdr_getpos(&xdrs))
                         : uint32_t(OP_ILLEGAL);
    const OpInfo* info = FindOp(opnum);
    runs_inline = info != nullptr &&
                  ((info->flags & kInline) || ((info->flags & kCommits) && deferred)) &&
                  (opnum != OP_GETATTR || !mds.state().AnyWriteDelegations());
    if (!runs_inline) break;
    rpc::XdrDecoded<nfs_argop4> arg{xdrproc_t(xdr_nfs_argop4)};
    if (!xdr_nfs_argop4(&xdrs, arg.get())) {
      rpc::XdrFree(xdrproc_t(xdr_nfs_argop4), arg.get());
      runs_inline = false;
    } else {
      arg.MarkDecoded();
      runs_inline = !SetsSize(*arg);
    }
  }
  xdr_destroy(&xdrs);
  return runs_inline;
}

rpc::AcceptStat RunCompound(const rpc::CallContext& call, Mds& mds,
                            std::span<const uint8_t> args, std::vector<uint8_t>& out) {
  rpc::XdrReader r(args);
  auto tag = r.Opaque(kTagBytesMax);
  uint32_t minorversion = r.U32();
  uint32_t op_count = r.U32();
  if (!r.ok()) return rpc::AcceptStat::kGarbageArgs;

  rpc::Arena arena;
  CompoundContext ctx(call, mds, arena);
  ctx.minorversion = minorversion;
  ctx.op_count = op_count;
  // RFC 8881 18.36.3: the channel's sizes count the RPC header (not the record mark).
  ctx.request_bytes = call.header.bytes + args.size();
  ReplyBuilder reply{out, out.size()};
  reply.Begin(tag);
  // RFC 8881 16.2.3: an unsupported minor version gets an empty result array.
  if (minorversion < 1 || minorversion > 2) {
    reply.status = NFS4ERR_MINOR_VERS_MISMATCH;
    reply.Finish();
    return rpc::AcceptStat::kSuccess;
  }
  std::span<const uint8_t> rest = r.Rest();
  // Export rules: a client in no rule's network gets NFS4ERR_ACCESS on its first operation,
  // whatever it is, so it can neither mount nor keep a lease.
  ctx.export_rule = mds.options().exports.Match(call.peer);
  if (ctx.export_rule == nullptr) {
    if (RefusedLogDue()) {
      spdlog::info("nfs4 {}: no export rule for this address: refused", call.peer);
    }
    if (op_count > 0) {
      uint32_t opnum = rest.size() >= 4 ? rpc::GetU32(rest.data()) : uint32_t(OP_ILLEGAL);
      AppendStatusOnly(reply, FindOp(opnum) ? opnum : uint32_t(OP_ILLEGAL), NFS4ERR_ACCESS);
    }
    reply.Finish();
    return rpc::AcceptStat::kSuccess;
  }
  ctx.id = Mds::IdentityOf(call.header.cred, *ctx.export_rule);
  bool state_only = true;  // every operation so far carries kStateOnly
  bool read_only = true;   // every operation so far carries kReadOnly
  bool failed_on_read = false;  // the failed operation carries kReadOnly, not kStateOnly
  // What the namespace reads of this compound rest on, if it turns out to be read-only.
  std::optional<meta::ReadMarks> reads;
  if (call.gate_mark != nullptr && mds.ns().TracksReadMarks()) reads.emplace();
  for (uint32_t i = 0; i < op_count; ++i) {
    ctx.op_index = i;
    uint32_t opnum = rest.size() >= 4 ? rpc::GetU32(rest.data()) : uint32_t(OP_ILLEGAL);
    if (i >= kCompoundOpsMax || (ctx.slot && i >= ctx.slot->max_operations())) {
      AppendStatusOnly(reply, opnum, NFS4ERR_TOO_MANY_OPS);
      break;
    }
    const OpInfo* info = FindOp(opnum);
    if (info == nullptr || info->name == nullptr) {
      AppendStatusOnly(reply, OP_ILLEGAL, NFS4ERR_OP_ILLEGAL);
      break;
    }
    rpc::XdrDecoded<nfs_argop4> arg{xdrproc_t(xdr_nfs_argop4)};
    XDR xdrs;
    xdrmem_create(&xdrs, reinterpret_cast<char*>(const_cast<uint8_t*>(rest.data())),
                  u_int(rest.size()), XDR_DECODE);
    bool decoded = xdr_nfs_argop4(&xdrs, arg.get());
    u_int used = xdr_getpos(&xdrs);
    xdr_destroy(&xdrs);
    if (!decoded) {
      rpc::XdrFree(xdrproc_t(xdr_nfs_argop4), arg.get());
      AppendStatusOnly(reply, opnum, NFS4ERR_BADXDR);
      break;
    }
    arg.MarkDecoded();
    rest = rest.subspan(used);
    std::optional<uint32_t> next_opnum;
    if (i + 1 < op_count && rest.size() >= 4) next_opnum = rpc::GetU32(rest.data());

    nfsstat4 status = CheckPlacement(ctx, opnum, *info);
    if (status == NFS4_OK) status = CheckFlavor(ctx, opnum, *info, next_opnum);
    if (status != NFS4_OK) {
      AppendStatusOnly(reply, status == NFS4ERR_OP_ILLEGAL ? uint32_t(OP_ILLEGAL) : opnum, status);
      break;
    }
    ctx.reply_bytes = out.size() - reply.start + rpc::kAcceptedReplyHeaderBytes;
    if (ctx.slot && (info->flags & kChangesState) &&
        ctx.reply_bytes + kStateChangeResultBytesMax > ctx.slot->max_cached_response_bytes()) {
      // Refused before it runs: the client may retry it in a smaller compound, and the error
      // the slot caches is true (nothing was done).
      AppendStatusOnly(reply, opnum, NFS4ERR_REP_TOO_BIG_TO_CACHE);
      break;
    }
    state_only = state_only && (info->flags & kStateOnly);
    read_only = read_only && (info->flags & kReadOnly);
    nfs_resop4 res;
    std::memset(&res, 0, sizeof(res));
    res.resop = nfs_opnum4(opnum);
    if (info->handler == nullptr) {
      SetResultStatus(res, NFS4ERR_NOTSUPP);
      status = NFS4ERR_NOTSUPP;
    } else {
      status = info->handler(ctx, *arg, res);
    }
    if (ctx.replay) {
      // RFC 8881 2.10.6.1.3: a retry gets the cached reply, byte for byte.
      out.resize(reply.start);
      out.insert(out.end(), ctx.replay->begin(), ctx.replay->end());
      return rpc::AcceptStat::kSuccess;
    }
    size_t before = out.size();
    const size_t result_bytes = std::exchange(ctx.result_bytes, 0);
    if (!AppendResult(out, res, result_bytes)) {
      spdlog::error("nfs4 {}: cannot encode the result of {}", call.peer, info->name);
      out.resize(before);
      AppendStatusOnly(reply, opnum, NFS4ERR_SERVERFAULT);
      break;
    }
    reply.results++;
    reply.status = status;
    if (ctx.slot) {
      size_t reply_bytes = out.size() - reply.start + rpc::kAcceptedReplyHeaderBytes;
      nfsstat4 too_big = reply_bytes > ctx.slot->max_response_bytes() ? NFS4ERR_REP_TOO_BIG
                         : reply_bytes > ctx.slot->max_cached_response_bytes()
                             ? NFS4ERR_REP_TOO_BIG_TO_CACHE
                             : NFS4_OK;
      if (too_big != NFS4_OK) {
        out.resize(before);
        reply.results--;
        AppendStatusOnly(reply, opnum, too_big);
        break;
      }
    }
    if (status != NFS4_OK) {
      failed_on_read = (info->flags & kReadOnly) && !(info->flags & kStateOnly);
      break;
    }
  }
  reply.Finish();
  if (ctx.slot) ctx.slot->Complete({out.data() + reply.start, out.size() - reply.start});
  // A retry's cached reply (returned above) waits: it may carry any operation's result.
  if (state_only && reply.status == NFS4_OK && call.wait_for_gate) {
    *call.wait_for_gate = false;
  } else if (reads && read_only && (reply.status == NFS4_OK || failed_on_read)) {
    *call.gate_mark = reads->mark();
  }
  return rpc::AcceptStat::kSuccess;
}

}  // namespace manifold::nfs4
