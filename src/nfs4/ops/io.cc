// READ (RFC 8881 18.22), WRITE (18.32), COMMIT (18.3) through the MDS: the data lives on
// volumes (DataStore).
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

// RFC 8881 18.22.3, 18.32.3, 18.3.3: a directory is NFS4ERR_ISDIR, a symlink NFS4ERR_SYMLINK,
// any other non-regular file NFS4ERR_WRONG_TYPE.
nfsstat4 DataFile(CompoundContext& ctx, meta::Inode& inode) {
  return CurrentRegularFile(ctx, inode, NFS4ERR_WRONG_TYPE);
}

Stable ToStable(stable_how4 s) {
  switch (s) {
    case UNSTABLE4: return Stable::kUnstable;
    case DATA_SYNC4: return Stable::kDataSync;
    default: return Stable::kFileSync;
  }
}

stable_how4 FromStable(Stable s) {
  switch (s) {
    case Stable::kUnstable: return UNSTABLE4;
    case Stable::kDataSync: return DATA_SYNC4;
    case Stable::kFileSync: return FILE_SYNC4;
  }
  return FILE_SYNC4;
}

}  // namespace

nfsstat4 Read(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opread;
  const READ4args& a = arg.nfs_argop4_u.opread;
  meta::Inode inode;
  out.status = DataFile(ctx, inode);
  if (out.status == NFS4_OK) out.status = ctx.mds.CheckIoStateid(ctx, a.stateid, inode.fileid, false);
  // The open checked access; the owner, and execute-only files (so that binaries run), too.
  if (out.status == NFS4_OK && !MayAccessInode(ctx, inode, kMayRead, true) &&
      !MayAccessInode(ctx, inode, kMayExec)) {
    out.status = NFS4ERR_ACCESS;
  }
  if (out.status != NFS4_OK) return out.status;
  uint32_t count = std::min<uint32_t>(a.count, MANIFOLD_NFS4_IO_MAX);
  auto data = ctx.mds.data().Read(inode, a.offset, count);
  if (!data.ok()) return out.status = ToNfs4(data.status());
  auto& ok = out.READ4res_u.resok4;
  ok.data.data_len = u_int(data->size());
  ok.data.data_val = static_cast<char*>(ArenaAlloc(ctx, data->size()));
  std::memcpy(ok.data.data_val, data->data(), data->size());
  ok.eof = a.offset + data->size() >= inode.size_bytes;
  return NFS4_OK;
}

nfsstat4 Write(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opwrite;
  const WRITE4args& a = arg.nfs_argop4_u.opwrite;
  meta::Inode inode;
  out.status = DataFile(ctx, inode);
  if (out.status == NFS4_OK && ctx.export_rule->read_only) out.status = NFS4ERR_ROFS;
  if (out.status == NFS4_OK) out.status = ctx.mds.CheckIoStateid(ctx, a.stateid, inode.fileid, true);
  if (out.status == NFS4_OK && !MayAccessInode(ctx, inode, kMayWrite, true)) {
    out.status = NFS4ERR_ACCESS;
  }
  if (out.status == NFS4_OK && a.offset > ctx.mds.data().file_bytes_max() - a.data.data_len) {
    out.status = NFS4ERR_FBIG;
  }
  if (out.status != NFS4_OK) return out.status;
  auto wrote = ctx.mds.data().Write(
      inode, a.offset, {reinterpret_cast<const uint8_t*>(a.data.data_val), a.data.data_len},
      ToStable(a.stable), /*drop_set_id=*/!ctx.id.is_root());
  if (!wrote.ok()) return out.status = ToNfs4(wrote.status());
  auto& ok = out.WRITE4res_u.resok4;
  ok.count = wrote->count_bytes;
  ok.committed = FromStable(wrote->committed);
  std::memcpy(ok.writeverf, wrote->verifier.data(), NFS4_VERIFIER_SIZE);
  return NFS4_OK;
}

nfsstat4 Commit(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opcommit;
  meta::Inode inode;
  out.status = DataFile(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  auto verf = ctx.mds.data().Commit(inode);
  if (!verf.ok()) return out.status = ToNfs4(verf.status());
  std::memcpy(out.COMMIT4res_u.resok4.writeverf, verf->data(), NFS4_VERIFIER_SIZE);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
