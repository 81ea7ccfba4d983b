// GETATTR (RFC 8881 18.7), VERIFY (18.31), NVERIFY (18.15).
#include <spdlog/spdlog.h>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

namespace {

AttrEncodeOptions EncodeOptions(const CompoundContext& ctx) {
  AttrEncodeOptions o;
  o.minor_version = ctx.minorversion;
  return o;
}

std::span<const uint8_t> FhBytes(const CompoundContext& ctx) {
  return {reinterpret_cast<const uint8_t*>(ctx.current_fh->data()), ctx.current_fh->size()};
}

// RFC 8881 10.4.3: another client's write delegation may hold newer data than the namespace.
// The holder is asked (CB_GETATTR) when change or size is requested; a file it changed gets a
// change one past the namespace's (so clients see a change) and the size it reports. A holder
// that cannot answer has its delegation recalled, and the GETATTR waits (NFS4ERR_DELAY).
nfsstat4 ApplyWriteDelegation(CompoundContext& ctx, const bitmap4& requested, ObjectAttrs& attrs) {
  state::StateManager& state = ctx.mds.state();
  if (!state.AnyWriteDelegations()) return NFS4_OK;
  if (!BitmapTest(requested, FATTR4_CHANGE) && !BitmapTest(requested, FATTR4_SIZE)) {
    return NFS4_OK;
  }
  for (const state::RecallableInfo& d : state.DelegationsOnFile(attrs.fileid)) {
    if (d.clientid == ctx.clientid || d.kind != OPEN_DELEGATE_WRITE ||
        d.revoked != state::RevokeReason::kNone) {
      continue;
    }
    if (d.recall_requested) return state.BreakDelegations(ctx.clientid, attrs.fileid, false);
    if (ctx.call.on_io_thread) {
      // The holder's answer would arrive on an I/O thread, perhaps this one: recall instead
      // of waiting. (Rare: such a GETATTR is sent to a worker unless the delegation was
      // granted after CompoundRunsInline looked.)
      return state.BreakDelegations(ctx.clientid, attrs.fileid, false);
    }
    auto got = ctx.mds.backchannel().CbGetattr(d.clientid, FhBytes(ctx));
    if (!got.ok()) {
      spdlog::info("CB_GETATTR to client {:#x} for file {}: {}; recalling", d.clientid,
                   attrs.fileid, got.status().message());
      return state.BreakDelegations(ctx.clientid, attrs.fileid, false);
    }
    if (*got->change != attrs.change || *got->size_bytes != attrs.size_bytes) {
      attrs.change += 1;
      attrs.size_bytes = *got->size_bytes;
    }
  }
  return NFS4_OK;
}

}  // namespace

nfsstat4 GetAttr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opgetattr;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  ObjectAttrs attrs = ToObjectAttrs(inode);
  out.status = ApplyWriteDelegation(ctx, arg.nfs_argop4_u.opgetattr.attr_request, attrs);
  if (out.status != NFS4_OK) return out.status;
  out.status = EncodeAttrs(arg.nfs_argop4_u.opgetattr.attr_request, attrs,
                           ctx.mds.fs_attrs(), FhBytes(ctx), EncodeOptions(ctx),
                           out.GETATTR4res_u.resok4.obj_attributes,
                           [&ctx](size_t n) { return ArenaAlloc(ctx, n); });
  return out.status;
}

nfsstat4 Verify(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  nfsstat4& s = res.nfs_resop4_u.opverify.status;
  meta::Inode inode;
  s = CurrentInode(ctx, inode);
  if (s != NFS4_OK) return s;
  return s = VerifyAttrs(arg.nfs_argop4_u.opverify.obj_attributes, ToObjectAttrs(inode),
                         ctx.mds.fs_attrs(), FhBytes(ctx), EncodeOptions(ctx));
}

nfsstat4 NVerify(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  nfsstat4& s = res.nfs_resop4_u.opnverify.status;
  meta::Inode inode;
  s = CurrentInode(ctx, inode);
  if (s != NFS4_OK) return s;
  return s = NverifyAttrs(arg.nfs_argop4_u.opnverify.obj_attributes, ToObjectAttrs(inode),
                          ctx.mds.fs_attrs(), FhBytes(ctx), EncodeOptions(ctx));
}

}  // namespace manifold::nfs4::ops
