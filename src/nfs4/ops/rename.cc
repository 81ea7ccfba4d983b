// RENAME (RFC 8881 18.26): the saved filehandle is the source directory, the current one the
// target directory. A replaced regular file that a client still has open outlives its last
// name (Mds::Rename, orphans.cc).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

nfsstat4 Rename(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oprename;
  auto& a = arg.nfs_argop4_u.oprename;
  meta::Inode src, dst;
  std::string_view from, to;
  out.status = SavedInode(ctx, src);
  if (out.status == NFS4_OK && !src.is_dir()) out.status = NFS4ERR_NOTDIR;
  if (out.status == NFS4_OK) out.status = CurrentDir(ctx, dst);
  if (out.status == NFS4_OK) out.status = CheckName(a.oldname, from);
  if (out.status == NFS4_OK) out.status = CheckName(a.newname, to);
  if (out.status == NFS4_OK) out.status = CheckDirWrite(ctx, src);
  if (out.status == NFS4_OK) out.status = CheckDirWrite(ctx, dst);
  if (out.status == NFS4_OK) out.status = CheckDirMove(ctx, src, from, dst);
  if (out.status == NFS4_OK) out.status = CheckNameLoss(ctx, src, from, /*required=*/true);
  if (out.status == NFS4_OK) out.status = CheckNameLoss(ctx, dst, to, /*required=*/false);
  if (out.status != NFS4_OK) return out.status;
  auto renamed = ctx.mds.Rename(src.fileid, from, dst.fileid, to);
  if (!renamed.ok()) {
    // RFC 8881 18.26.4: a type clash between source and target is NFS4ERR_EXIST.
    Code c = renamed.status().code();
    out.status = (c == Code::kIsDir || c == Code::kNotDir) ? NFS4ERR_EXIST : ToNfs4(renamed.status());
    return out.status;
  }
  auto& ok = out.RENAME4res_u.resok4;
  FillChangeInfo(renamed->src_dir, ok.source_cinfo);
  FillChangeInfo(renamed->dst_dir, ok.target_cinfo);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
