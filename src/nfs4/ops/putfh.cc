// PUTFH, PUTROOTFH (and PUTPUBFH), GETFH, SAVEFH, RESTOREFH (RFC 8881 18.19-18.22, 18.8,
// 18.27, 18.28).
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

nfsstat4 PutFh(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  const nfs_fh4& fh = arg.nfs_argop4_u.opputfh.object;
  nfsstat4 s = NFS4_OK;
  if (fh.nfs_fh4_len > NFS4_FHSIZE) {
    s = NFS4ERR_BADHANDLE;
  } else if (!DecodeHandle({reinterpret_cast<const uint8_t*>(fh.nfs_fh4_val), fh.nfs_fh4_len})) {
    s = NFS4ERR_BADHANDLE;
  } else {
    // RFC 8881 18.19.3: the handle is only checked for form here; a stale one is reported by
    // the operation that uses it.
    ctx.current_fh = FileHandle(fh.nfs_fh4_val, fh.nfs_fh4_len);
    ctx.current_stateid.reset();
  }
  res.nfs_resop4_u.opputfh.status = s;
  return s;
}

nfsstat4 PutRootFh(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto root = ctx.mds.ns().GetInode(meta::kRootFileId);
  nfsstat4 s = root.ok() ? NFS4_OK : NFS4ERR_SERVERFAULT;
  if (s == NFS4_OK) SetCurrentFh(ctx, *root);
  res.nfs_resop4_u.opputrootfh.status = s;
  return s;
}

nfsstat4 GetFh(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opgetfh;
  const FileHandle& fh = *ctx.current_fh;
  out.status = NFS4_OK;
  auto& obj = out.GETFH4res_u.resok4.object;
  obj.nfs_fh4_len = u_int(fh.size());
  obj.nfs_fh4_val = static_cast<char*>(ArenaAlloc(ctx, fh.size()));
  std::memcpy(obj.nfs_fh4_val, fh.data(), fh.size());
  return NFS4_OK;
}

nfsstat4 SaveFh(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  ctx.saved_fh = ctx.current_fh;
  ctx.saved_stateid = ctx.current_stateid;
  res.nfs_resop4_u.opsavefh.status = NFS4_OK;
  return NFS4_OK;
}

nfsstat4 RestoreFh(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  nfsstat4 s = ctx.saved_fh ? NFS4_OK : NFS4ERR_RESTOREFH;
  if (s == NFS4_OK) {
    ctx.current_fh = ctx.saved_fh;
    ctx.current_stateid = ctx.saved_stateid;
  }
  res.nfs_resop4_u.oprestorefh.status = s;
  return s;
}

}  // namespace manifold::nfs4::ops
