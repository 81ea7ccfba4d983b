// GETATTR (RFC 8881 18.7), VERIFY (18.31), NVERIFY (18.15).
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

}  // namespace

nfsstat4 GetAttr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opgetattr;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  // 10.4.3: another client's write delegation may hold back size and change; without
  // CB_GETATTR it is recalled first.
  if (out.status == NFS4_OK) {
    out.status = ctx.mds.state().BreakDelegations(ctx.clientid, inode.fileid, /*write=*/false);
  }
  if (out.status != NFS4_OK) return out.status;
  out.status = EncodeAttrs(arg.nfs_argop4_u.opgetattr.attr_request, ToObjectAttrs(inode),
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
