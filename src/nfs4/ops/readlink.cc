// READLINK (RFC 8881 18.24).
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

nfsstat4 ReadLink(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opreadlink;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  if (inode.type != meta::FileType::kSymlink) {
    return out.status = inode.is_dir() ? NFS4ERR_ISDIR : NFS4ERR_INVAL;
  }
  auto& link = out.READLINK4res_u.resok4.link;
  link.linktext4_len = u_int(inode.symlink_target.size());
  link.linktext4_val = static_cast<char*>(ArenaAlloc(ctx, inode.symlink_target.size()));
  std::memcpy(link.linktext4_val, inode.symlink_target.data(), inode.symlink_target.size());
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
