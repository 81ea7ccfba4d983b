// REMOVE (RFC 8881 18.25): files, symlinks, special files and empty directories. A regular
// file that a client still has open outlives its last name (Mds::Unlink, orphans.cc).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

nfsstat4 Remove(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opremove;
  meta::Inode dir;
  std::string_view name;
  out.status = CurrentDir(ctx, dir);
  if (out.status == NFS4_OK) out.status = CheckName(arg.nfs_argop4_u.opremove.target, name);
  if (out.status == NFS4_OK) out.status = CheckDirWrite(ctx, dir);
  if (out.status == NFS4_OK) out.status = CheckNameLoss(ctx, dir, name, /*required=*/true);
  if (out.status != NFS4_OK) return out.status;
  auto removed = ctx.mds.Unlink(dir.fileid, name);
  if (!removed.ok()) return out.status = ToNfs4(removed.status());
  FillChangeInfo(removed->dir, out.REMOVE4res_u.resok4.cinfo);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
