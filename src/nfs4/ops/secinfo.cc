// SECINFO (RFC 8881 18.29) and SECINFO_NO_NAME (18.45): the flavors the caller's export rule
// takes, in its order of preference. Both consume the current filehandle (RFC 8881 2.6.3.1.1.8).
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

void FillFlavors(CompoundContext& ctx, SECINFO4resok& out) {
  const std::vector<rpc::AuthFlavor>& flavors = ctx.export_rule->flavors;
  auto n = u_int(flavors.size());
  out.SECINFO4resok_len = n;
  out.SECINFO4resok_val = static_cast<secinfo4*>(ArenaAlloc(ctx, n * sizeof(secinfo4)));
  for (u_int i = 0; i < n; ++i) {
    out.SECINFO4resok_val[i] = secinfo4{};
    out.SECINFO4resok_val[i].flavor = uint32_t(flavors[i]);  // AUTH_SYS, AUTH_NONE
  }
}

}  // namespace

nfsstat4 SecInfo(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opsecinfo;
  meta::Inode dir;
  std::string_view name;
  out.status = CurrentDir(ctx, dir);
  if (out.status == NFS4_OK) out.status = CheckName(arg.nfs_argop4_u.opsecinfo.name, name);
  if (out.status == NFS4_OK && !MayAccessInode(ctx, dir, kMayExec)) out.status = NFS4ERR_ACCESS;
  if (out.status == NFS4_OK) {
    auto child = ctx.mds.ns().EntryOf(dir.fileid, name);
    if (!child.ok()) out.status = ToNfs4(child.status());
  }
  if (out.status != NFS4_OK) return out.status;
  FillFlavors(ctx, out.SECINFO4res_u.resok4);
  ctx.current_fh.reset();
  return NFS4_OK;
}

nfsstat4 SecInfoNoName(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opsecinfo_no_name;
  meta::Inode inode;
  out.status = CurrentInode(ctx, inode);
  if (out.status == NFS4_OK && arg.nfs_argop4_u.opsecinfo_no_name == SECINFO_STYLE4_PARENT) {
    if (!inode.is_dir()) {
      out.status = NFS4ERR_NOTDIR;
    } else if (inode.fileid == meta::kRootFileId) {
      out.status = NFS4ERR_NOENT;  // RFC 8881 18.45.3: the root has no parent
    }
  }
  if (out.status != NFS4_OK) return out.status;
  FillFlavors(ctx, out.SECINFO4res_u.resok4);
  ctx.current_fh.reset();
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
