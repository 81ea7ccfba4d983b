// SETATTR (RFC 8881 18.30).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

meta::SetTime ToMetaTime(const nfs4::SetTime& t) {
  meta::SetTime m;
  m.server_time = t.server_time;
  m.time = meta::Timespec{t.time.sec, t.time.nsec};
  return m;
}

// POSIX rules for who may change what (chmod(2), chown(2), utimensat(2), truncate(2)).
nfsstat4 CheckSetAttrRights(const CompoundContext& ctx, const meta::Inode& inode,
                            const SetAttrs& want) {
  const Identity& id = ctx.id;
  bool owner = id.is_root() || id.uid == inode.uid;
  if (want.mode && !owner) return NFS4ERR_PERM;
  // chown(2): only the owner may "change" the owner to itself, and only to the file's group or
  // one of their own (Linux's chown_ok and chgrp_ok).
  if (want.uid && !id.is_root() && !(id.uid == inode.uid && *want.uid == inode.uid)) {
    return NFS4ERR_PERM;
  }
  if (want.gid && !id.is_root() &&
      !(id.uid == inode.uid && (*want.gid == inode.gid || id.InGroup(*want.gid)))) {
    return NFS4ERR_PERM;
  }
  bool explicit_time = (want.atime && !want.atime->server_time) ||
                       (want.mtime && !want.mtime->server_time) || want.crtime;
  if (explicit_time && !owner) return NFS4ERR_PERM;
  bool now_time = (want.atime && want.atime->server_time) || (want.mtime && want.mtime->server_time);
  if (now_time && !owner && !MayAccessInode(ctx, inode, kMayWrite)) return NFS4ERR_ACCESS;
  if (want.size_bytes) {
    if (inode.is_dir()) return NFS4ERR_ISDIR;
    if (inode.type != meta::FileType::kReg) return NFS4ERR_INVAL;
    if (!MayAccessInode(ctx, inode, kMayWrite, /*owner_override=*/true)) return NFS4ERR_ACCESS;
  }
  return NFS4_OK;
}

}  // namespace

nfsstat4 SetAttr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opsetattr;
  auto& a = arg.nfs_argop4_u.opsetattr;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  if (ctx.export_rule->read_only) return out.status = NFS4ERR_ROFS;
  SetAttrs want;
  AttrBitmap set;
  AttrDecodeOptions options;
  options.minor_version = ctx.minorversion;
  out.status = DecodeSetAttrs(a.obj_attributes, SetAttrsFor::kSetattr, options, want, set);
  if (out.status == NFS4_OK) out.status = CheckSetAttrRights(ctx, inode, want);
  if (out.status == NFS4_OK) {
    out.status = ctx.mds.state().BreakDelegations(ctx.clientid, inode.fileid, /*write=*/true);
  }
  // RFC 8881 18.30.3: a size change is I/O and needs a stateid that allows writing.
  if (out.status == NFS4_OK && want.size_bytes) {
    out.status = ctx.mds.CheckIoStateid(ctx, a.stateid, inode.fileid, /*write=*/true);
  }
  if (out.status != NFS4_OK) return out.status;
  meta::SetAttrArgs m;
  m.mode = want.mode;
  m.uid = want.uid;
  m.gid = want.gid;
  m.size_bytes = want.size_bytes;
  m.caller = &ctx.id;
  if (want.atime) m.atime = ToMetaTime(*want.atime);
  if (want.mtime) m.mtime = ToMetaTime(*want.mtime);
  if (want.crtime) m.crtime = meta::Timespec{want.crtime->sec, want.crtime->nsec};
  auto done = ctx.mds.SetAttr(inode.fileid, m);
  if (!done.ok()) return out.status = ToNfs4(done.status());
  ToBitmap4(set, [&ctx](size_t n) { return ArenaAlloc(ctx, n); }, out.attrsset);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
