// LOCK (RFC 8881 18.10), LOCKT (18.11), LOCKU (18.12). Byte-range state lives in
// state::StateManager; these handlers check the object and translate.
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

namespace {

nfsstat4 LockableFile(CompoundContext& ctx, meta::Inode& inode) {
  nfsstat4 s = CurrentInode(ctx, inode);
  if (s != NFS4_OK) return s;
  if (inode.is_dir()) return NFS4ERR_ISDIR;
  return inode.type == meta::FileType::kReg ? NFS4_OK : NFS4ERR_INVAL;
}

void FillDenied(CompoundContext& ctx, const state::LockDenied& d, LOCK4denied& out) {
  out.offset = d.offset;
  out.length = d.length;
  out.locktype = d.locktype;
  out.owner.clientid = d.clientid;
  out.owner.owner.owner_len = u_int(d.owner.size());
  out.owner.owner.owner_val = static_cast<char*>(ArenaAlloc(ctx, d.owner.size()));
  std::memcpy(out.owner.owner.owner_val, d.owner.data(), d.owner.size());
}

}  // namespace

nfsstat4 Lock(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oplock;
  auto& locker = arg.nfs_argop4_u.oplock.locker;
  meta::Inode inode;
  out.status = LockableFile(ctx, inode);
  if (out.status == NFS4_OK) {
    out.status = ResolveCurrentStateid(
        ctx, locker.new_lock_owner ? locker.locker4_u.open_owner.open_stateid
                                   : locker.locker4_u.lock_owner.lock_stateid);
  }
  if (out.status != NFS4_OK) return out.status;
  auto r = ctx.mds.state().Lock(ctx.clientid, inode.fileid, arg.nfs_argop4_u.oplock);
  out.status = r.status;
  if (r.status == NFS4_OK) {
    out.LOCK4res_u.resok4.lock_stateid = r.lock_stateid;
    ctx.current_stateid = r.lock_stateid;
  } else if (r.status == NFS4ERR_DENIED) {
    FillDenied(ctx, r.denied, out.LOCK4res_u.denied);
  }
  return r.status;
}

nfsstat4 LockT(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oplockt;
  meta::Inode inode;
  out.status = LockableFile(ctx, inode);
  if (out.status != NFS4_OK) return out.status;
  auto r = ctx.mds.state().LockTest(ctx.clientid, inode.fileid, arg.nfs_argop4_u.oplockt);
  out.status = r.status;
  if (r.status == NFS4ERR_DENIED) FillDenied(ctx, r.denied, out.LOCKT4res_u.denied);
  return r.status;
}

nfsstat4 LockU(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oplocku;
  auto& a = arg.nfs_argop4_u.oplocku;
  uint64_t fileid = 0;
  out.status = CurrentFileId(ctx, fileid);
  if (out.status == NFS4_OK) out.status = ResolveCurrentStateid(ctx, a.lock_stateid);
  if (out.status != NFS4_OK) return out.status;
  auto r = ctx.mds.state().Unlock(ctx.clientid, fileid, a);
  out.status = r.status;
  if (r.status == NFS4_OK) {
    out.LOCKU4res_u.lock_stateid = r.stateid;
    ctx.current_stateid = r.stateid;
  }
  return r.status;
}

}  // namespace manifold::nfs4::ops
