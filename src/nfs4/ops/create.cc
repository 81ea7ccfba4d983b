// CREATE (RFC 8881 18.4): directories, symlinks, devices, fifos, sockets. Regular files are
// made by OPEN (NFS4ERR_BADTYPE here).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

nfsstat4 FillType(const createtype4& t, meta::CreateArgs& args) {
  switch (t.type) {
    case NF4DIR: args.type = meta::FileType::kDir; return NFS4_OK;
    case NF4LNK: {
      const linktext4& l = t.createtype4_u.linkdata;
      if (l.linktext4_len == 0) return NFS4ERR_INVAL;
      args.type = meta::FileType::kSymlink;
      args.symlink_target.assign(l.linktext4_val, l.linktext4_len);
      return NFS4_OK;
    }
    case NF4BLK:
    case NF4CHR:
      args.type = t.type == NF4BLK ? meta::FileType::kBlk : meta::FileType::kChr;
      args.rdev = {t.createtype4_u.devdata.specdata1, t.createtype4_u.devdata.specdata2};
      return NFS4_OK;
    case NF4SOCK: args.type = meta::FileType::kSock; return NFS4_OK;
    case NF4FIFO: args.type = meta::FileType::kFifo; return NFS4_OK;
    default: return NFS4ERR_BADTYPE;  // NF4REG (use OPEN), NF4ATTRDIR, NF4NAMEDATTR
  }
}

}  // namespace

nfsstat4 Create(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opcreate;
  auto& a = arg.nfs_argop4_u.opcreate;
  meta::Inode dir;
  std::string_view name;
  meta::CreateArgs args;
  out.status = CurrentDir(ctx, dir);
  if (out.status == NFS4_OK) out.status = FillType(a.objtype, args);
  if (out.status == NFS4_OK) out.status = CheckName(a.objname, name);
  SetAttrs want;
  AttrBitmap set;
  AttrDecodeOptions options;
  options.minor_version = ctx.minorversion;
  if (out.status == NFS4_OK) {
    out.status = DecodeSetAttrs(a.createattrs, SetAttrsFor::kCreate, options, want, set);
  }
  if (out.status == NFS4_OK) out.status = CheckDirWrite(ctx, dir);
  // Devices need privilege, as mknod(2) does.
  if (out.status == NFS4_OK && (args.type == meta::FileType::kBlk ||
                                args.type == meta::FileType::kChr) && !ctx.id.is_root()) {
    out.status = NFS4ERR_PERM;
  }
  if (out.status == NFS4_OK && want.size_bytes) out.status = NFS4ERR_INVAL;  // not a file
  if (out.status != NFS4_OK) return out.status;
  args.mode = want.mode.value_or(args.type == meta::FileType::kDir ? 0755 : 0644);
  args.uid = ctx.id.uid;
  // A new object takes the directory's group when the directory is setgid (as on Linux).
  args.gid = (dir.mode & meta::kModeSetGid) ? dir.gid : ctx.id.gid;
  if (want.uid && (ctx.id.is_root() || *want.uid == ctx.id.uid)) args.uid = *want.uid;
  if (want.gid && (ctx.id.is_root() || ctx.id.InGroup(*want.gid))) args.gid = *want.gid;
  if ((want.uid && args.uid != *want.uid) || (want.gid && args.gid != *want.gid)) {
    return out.status = NFS4ERR_PERM;
  }
  args.mode = NewObjectMode(ctx, dir, args.type, args.mode, args.gid);
  auto made = ctx.mds.ns().Create(dir.fileid, name, args);
  if (!made.ok()) return out.status = ToNfs4(made.status());
  if (want.atime || want.mtime || want.crtime) {
    meta::SetAttrArgs times;
    if (want.crtime) times.crtime = meta::Timespec{want.crtime->sec, want.crtime->nsec};
    if (want.atime) times.atime = meta::SetTime{want.atime->server_time, {want.atime->time.sec, want.atime->time.nsec}};
    if (want.mtime) times.mtime = meta::SetTime{want.mtime->server_time, {want.mtime->time.sec, want.mtime->time.nsec}};
    auto timed = ctx.mds.ns().SetAttr(made->inode.fileid, times);
    if (!timed.ok()) return out.status = ToNfs4(timed.status());
    made->inode = timed->after;
  }
  SetCurrentFh(ctx, made->inode);
  auto& ok = out.CREATE4res_u.resok4;
  FillChangeInfo(made->dir, ok.cinfo);
  ToBitmap4(set, [&ctx](size_t n) { return ArenaAlloc(ctx, n); }, ok.attrset);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
