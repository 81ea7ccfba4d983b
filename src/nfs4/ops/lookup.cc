// LOOKUP and LOOKUPP (RFC 8881 18.13, 18.14).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

nfsstat4 Lookup(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  nfsstat4& s = res.nfs_resop4_u.oplookup.status;
  meta::Inode dir;
  // RFC 8881 18.13.4: LOOKUP on a symlink is NFS4ERR_SYMLINK, on another non-dir NFS4ERR_NOTDIR.
  s = CurrentDir(ctx, dir, NFS4ERR_SYMLINK);
  std::string_view name;
  if (s == NFS4_OK) s = CheckName(arg.nfs_argop4_u.oplookup.objname, name);
  // RFC 8881 18.13.3: search permission on the directory.
  if (s == NFS4_OK && !MayAccessInode(ctx, dir, kMayExec)) s = NFS4ERR_ACCESS;
  if (s != NFS4_OK) return s;
  auto child = ctx.mds.ns().LookupChild(dir.fileid, name);
  if (!child.ok()) return s = ToNfs4(child.status());
  SetCurrentFhLookedUp(ctx, *child);
  return s;
}

nfsstat4 LookupP(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  nfsstat4& s = res.nfs_resop4_u.oplookupp.status;
  meta::Inode dir;
  s = CurrentDir(ctx, dir, NFS4ERR_SYMLINK);
  if (s == NFS4_OK && !MayAccessInode(ctx, dir, kMayExec)) s = NFS4ERR_ACCESS;
  if (s != NFS4_OK) return s;
  // RFC 8881 18.14.3: LOOKUPP of the root is NFS4ERR_NOENT.
  if (dir.fileid == meta::kRootFileId) return s = NFS4ERR_NOENT;
  auto parent = ctx.mds.ns().LookupParent(dir.fileid);
  if (!parent.ok()) return s = ToNfs4(parent.status());
  SetCurrentFhLookedUp(ctx, *parent);
  return s;
}

}  // namespace manifold::nfs4::ops
