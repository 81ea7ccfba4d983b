// ALLOCATE (RFC 7862 15.1) and DEALLOCATE (15.4). The volumes speak NFSv3, which has neither
// fallocate nor hole punching; DataStore::Allocate and DataStore::Deallocate do the nearest thing
// (zeros written, data-server files cut short) under the file's exclusive data guard, and
// everything they change is stable before the reply.
#include <spdlog/spdlog.h>

#include <cstdint>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

// As WRITE checks: a regular file (RFC 7862 15.1.3: otherwise NFS4ERR_WRONG_TYPE; a directory and a
// symlink get NFS4ERR_ISDIR and NFS4ERR_SYMLINK, as for READ and WRITE), a writable export, a
// stateid that allows writing, write permission (the owner always has it), and a range that is not
// empty and does not wrap past 2^64.
nfsstat4 CheckWritableRange(CompoundContext& ctx, const stateid4& stateid, uint64_t offset,
                            uint64_t length, meta::Inode& inode) {
  nfsstat4 s = CurrentRegularFile(ctx, inode, NFS4ERR_WRONG_TYPE);
  if (s == NFS4_OK && ctx.export_rule->read_only) s = NFS4ERR_ROFS;
  if (s == NFS4_OK) s = ctx.mds.CheckIoStateid(ctx, stateid, inode.fileid, /*write=*/true);
  if (s == NFS4_OK && !MayAccessInode(ctx, inode, kMayWrite, /*owner_override=*/true)) {
    s = NFS4ERR_ACCESS;
  }
  // fallocate(2) refuses a zero length too (EINVAL).
  if (s == NFS4_OK && (length == 0 || offset > UINT64_MAX - length)) s = NFS4ERR_INVAL;
  return s;
}

}  // namespace

nfsstat4 Allocate(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opallocate;
  const ALLOCATE4args& a = arg.nfs_argop4_u.opallocate;
  meta::Inode inode;
  out.ar_status = CheckWritableRange(ctx, a.aa_stateid, a.aa_offset, a.aa_length, inode);
  // The size may grow to offset+length: not past maxfilesize.
  if (out.ar_status == NFS4_OK && a.aa_offset + a.aa_length > ctx.mds.data().file_bytes_max()) {
    out.ar_status = NFS4ERR_FBIG;
  }
  // RFC 7862 15.1.3: "If the server cannot guarantee this, it must return NFS4ERR_NOSPC."
  if (out.ar_status == NFS4_OK && a.aa_length > kAllocateBytesMax) {
    spdlog::debug("nfs4 {}: ALLOCATE of {} bytes, over kAllocateBytesMax", ctx.call.peer,
                  a.aa_length);
    out.ar_status = NFS4ERR_NOSPC;
  }
  if (out.ar_status != NFS4_OK) return out.ar_status;
  Status s = ctx.mds.data().Allocate(inode.fileid, a.aa_offset, a.aa_length,
                                     /*drop_set_id=*/!ctx.id.is_root());
  return out.ar_status = ToNfs4(s);
}

nfsstat4 Deallocate(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opdeallocate;
  const DEALLOCATE4args& a = arg.nfs_argop4_u.opdeallocate;
  meta::Inode inode;
  out.dr_status = CheckWritableRange(ctx, a.da_stateid, a.da_offset, a.da_length, inode);
  if (out.dr_status != NFS4_OK) return out.dr_status;
  Status s = ctx.mds.data().Deallocate(inode.fileid, a.da_offset, a.da_length,
                                       /*drop_set_id=*/!ctx.id.is_root());
  return out.dr_status = ToNfs4(s);
}

}  // namespace manifold::nfs4::ops
