#include "nfs4/ops/common.h"

#include <algorithm>
#include <cstring>

#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

nfsstat4 InodeOf(CompoundContext& ctx, const FileHandle& fh, meta::Inode& out) {
  auto id = DecodeHandle(fh);
  if (!id) return NFS4ERR_BADHANDLE;
  auto inode = ctx.mds.ns().GetAttr(id->fileid, id->generation);
  if (!inode.ok()) return ToNfs4(inode.status());
  out = std::move(inode.value());
  return NFS4_OK;
}

nfsstat4 CurrentInode(CompoundContext& ctx, meta::Inode& out) {
  if (!ctx.current_fh) return NFS4ERR_NOFILEHANDLE;
  if (ctx.looked_up && ctx.looked_up_op + 1 == ctx.op_index &&
      ctx.looked_up_fh == *ctx.current_fh) {
    out = *ctx.looked_up;  // read by the LOOKUP just before (its handle is current_fh)
    return NFS4_OK;
  }
  return InodeOf(ctx, *ctx.current_fh, out);
}

void SetCurrentFhLookedUp(CompoundContext& ctx, const meta::Inode& inode) {
  SetCurrentFh(ctx, inode);
  ctx.looked_up = inode;
  ctx.looked_up_op = ctx.op_index;
  ctx.looked_up_fh = *ctx.current_fh;
}

nfsstat4 SavedInode(CompoundContext& ctx, meta::Inode& out) {
  if (!ctx.saved_fh) return NFS4ERR_NOFILEHANDLE;
  return InodeOf(ctx, *ctx.saved_fh, out);
}

nfsstat4 CurrentDir(CompoundContext& ctx, meta::Inode& out, nfsstat4 symlink_status) {
  nfsstat4 s = CurrentInode(ctx, out);
  if (s != NFS4_OK) return s;
  if (out.type == meta::FileType::kSymlink) return symlink_status;
  return out.is_dir() ? NFS4_OK : NFS4ERR_NOTDIR;
}

nfsstat4 CurrentRegularFile(CompoundContext& ctx, meta::Inode& out, nfsstat4 other_status) {
  nfsstat4 s = CurrentInode(ctx, out);
  if (s != NFS4_OK) return s;
  if (out.is_dir()) return NFS4ERR_ISDIR;
  if (out.type == meta::FileType::kSymlink) return NFS4ERR_SYMLINK;
  return out.type == meta::FileType::kReg ? NFS4_OK : other_status;
}

void SetCurrentFh(CompoundContext& ctx, const meta::Inode& inode) {
  ctx.current_fh = EncodeHandle(inode.fileid, inode.generation);
  ctx.current_stateid.reset();  // RFC 8881 16.2.3.1.2: a new current fh clears it
}

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = uint8_t(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      auto cc = uint8_t(s[i + k]);
      if ((cc >> 6) != 2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

nfsstat4 CheckName(const component4& name, std::string_view& out) {
  out = std::string_view(name.utf8string_val, name.utf8string_len);
  if (out.empty()) return NFS4ERR_INVAL;
  if (out.size() > MANIFOLD_NFS4_NAME_MAX) return NFS4ERR_NAMETOOLONG;
  if (out == "." || out == "..") return NFS4ERR_BADNAME;
  if (out.find('/') != std::string_view::npos || out.find('\0') != std::string_view::npos) {
    return NFS4ERR_BADNAME;
  }
  if (!IsUtf8(out)) return NFS4ERR_INVAL;
  return NFS4_OK;
}

bool MayAccessInode(const CompoundContext& ctx, const meta::Inode& inode, uint32_t want,
                    bool owner_override) {
  return MayAccess(ctx.id, inode.uid, inode.gid, inode.mode, inode.is_dir(), want,
                   owner_override);
}

bool XattrTypeAllowed(const meta::Inode& inode) {
  return inode.type == meta::FileType::kReg || inode.is_dir();
}

bool MayReadXattrs(const CompoundContext& ctx, const meta::Inode& inode) {
  return MayAccessInode(ctx, inode, kMayRead);
}

bool MayWriteXattrs(const CompoundContext& ctx, const meta::Inode& inode) {
  if (ctx.export_rule->read_only || !MayAccessInode(ctx, inode, kMayWrite)) return false;
  // Linux: user xattrs of a sticky directory belong to its owner (xattr_permission).
  bool sticky_dir = inode.is_dir() && (inode.mode & 01000);
  return !sticky_dir || ctx.id.is_root() || ctx.id.uid == inode.uid;
}

nfsstat4 CheckDirWrite(const CompoundContext& ctx, const meta::Inode& dir) {
  if (ctx.export_rule->read_only) return NFS4ERR_ROFS;
  return MayAccessInode(ctx, dir, kMayWrite | kMayExec) ? NFS4_OK : NFS4ERR_ACCESS;
}

nfsstat4 CheckDirMove(CompoundContext& ctx, const meta::Inode& src_dir, std::string_view name,
                      const meta::Inode& dst_dir) {
  if (src_dir.fileid == dst_dir.fileid || ctx.id.is_root()) return NFS4_OK;
  auto moved = ctx.mds.ns().LookupChild(src_dir.fileid, name);
  if (!moved.ok()) return NFS4_OK;  // RENAME itself reports a missing name
  if (!moved->is_dir()) return NFS4_OK;
  return MayAccessInode(ctx, *moved, kMayWrite) ? NFS4_OK : NFS4ERR_ACCESS;
}

uint32_t NewObjectMode(const CompoundContext& ctx, const meta::Inode& dir, meta::FileType type,
                       uint32_t mode, uint32_t gid) {
  if (!(dir.mode & meta::kModeSetGid)) return mode;
  if (type == meta::FileType::kDir) return mode | meta::kModeSetGid;
  const uint32_t setgid_exec = meta::kModeSetGid | meta::kModeGroupExec;
  if ((mode & setgid_exec) == setgid_exec && !ctx.id.is_root() && !ctx.id.InGroup(gid)) {
    return mode & ~meta::kModeSetGid;
  }
  return mode;
}

nfsstat4 CheckSticky(const CompoundContext& ctx, const meta::Inode& dir,
                     const meta::Inode& victim) {
  if (!(dir.mode & meta::kModeSticky) || ctx.id.is_root()) return NFS4_OK;
  return ctx.id.uid == dir.uid || ctx.id.uid == victim.uid ? NFS4_OK : NFS4ERR_ACCESS;
}

nfsstat4 CurrentFileId(const CompoundContext& ctx, uint64_t& fileid) {
  if (!ctx.current_fh) return NFS4ERR_NOFILEHANDLE;
  auto id = DecodeHandle(*ctx.current_fh);
  if (!id) return NFS4ERR_BADHANDLE;
  fileid = id->fileid;
  return NFS4_OK;
}

void FillChangeInfo(const meta::DirChange& change, change_info4& out) {
  out.atomic = TRUE;  // both counters are read inside the mutation's transaction
  out.before = change.before;
  out.after = change.after;
}

void* ArenaAlloc(CompoundContext& ctx, size_t bytes) { return ctx.arena.Alloc(bytes); }

nfsstat4 CheckNameLoss(CompoundContext& ctx, const meta::Inode& dir, std::string_view name,
                       bool required) {
  const bool sticky = (dir.mode & meta::kModeSticky) != 0;
  if (!sticky && !ctx.mds.state().AnyDelegations()) return NFS4_OK;
  auto victim = ctx.mds.ns().LookupChild(dir.fileid, name);
  if (!victim.ok()) return sticky && required ? ToNfs4(victim.status()) : NFS4_OK;
  nfsstat4 s = ctx.mds.state().BreakDelegations(ctx.clientid, victim->fileid, true);
  if (s == NFS4_OK && sticky) s = CheckSticky(ctx, dir, *victim);
  return s;
}

uint64_t ResultBytesLeft(const CompoundContext& ctx, bool within_cache) {
  constexpr uint64_t kResultHeadBytes = 8;  // resop and status
  if (!ctx.slot) return UINT64_MAX;
  uint64_t used = ctx.reply_bytes + kResultHeadBytes;
  uint64_t max = ctx.slot->max_response_bytes();
  if (within_cache) max = std::min(max, ctx.slot->max_cached_response_bytes());
  return max > used ? max - used : 0;
}

}  // namespace manifold::nfs4::ops
