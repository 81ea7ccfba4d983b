// ACCESS (RFC 8881 18.1): what a local process with the caller's identity could do.
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

nfsstat4 Access(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opaccess;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  uint32_t asked = arg.nfs_argop4_u.opaccess.access;
  bool dir = inode.is_dir();
  // Every bit is understood; the extended-attribute bits (RFC 8276 8.4) only in 4.2.
  uint32_t known = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND |
                   ACCESS4_DELETE | ACCESS4_EXECUTE;
  if (ctx.minorversion >= 2) known |= ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;
  uint32_t granted = 0;
  bool ro = ctx.export_rule->read_only;
  if (MayAccessInode(ctx, inode, kMayRead)) granted |= ACCESS4_READ;
  if (!ro && MayAccessInode(ctx, inode, kMayWrite)) {
    granted |= ACCESS4_MODIFY | ACCESS4_EXTEND | (dir ? ACCESS4_DELETE : 0);
  }
  // RFC 8276 8.4: the same rules GETXATTR, LISTXATTRS, SETXATTR and REMOVEXATTR apply.
  if (MayReadXattrs(ctx, inode)) granted |= ACCESS4_XAREAD | ACCESS4_XALIST;
  if (MayWriteXattrs(ctx, inode)) granted |= ACCESS4_XAWRITE;
  if (MayAccessInode(ctx, inode, kMayExec)) granted |= dir ? ACCESS4_LOOKUP : ACCESS4_EXECUTE;
  auto& ok = out.ACCESS4res_u.resok4;
  ok.supported = asked & known;
  ok.access = asked & known & granted;
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
