// LINK (RFC 8881 18.9): the saved filehandle is the object, the current one the directory.
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

nfsstat4 Link(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oplink;
  meta::Inode obj, dir;
  std::string_view name;
  out.status = SavedInode(ctx, obj);
  if (out.status == NFS4_OK) out.status = CurrentDir(ctx, dir);
  if (out.status == NFS4_OK && obj.is_dir()) out.status = NFS4ERR_ISDIR;
  if (out.status == NFS4_OK) out.status = CheckName(arg.nfs_argop4_u.oplink.newname, name);
  if (out.status == NFS4_OK) out.status = CheckDirWrite(ctx, dir);
  if (out.status == NFS4_OK) {
    out.status = ctx.mds.state().BreakDelegations(ctx.clientid, obj.fileid, /*write=*/true);
  }
  if (out.status != NFS4_OK) return out.status;
  auto linked = ctx.mds.ns().Link(obj.fileid, dir.fileid, name);
  if (!linked.ok()) {
    out.status = ToNfs4(linked.status());
    return out.status;
  }
  FillChangeInfo(linked->dir, out.LINK4res_u.resok4.cinfo);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
