// RENAME with POSIX rename(2) semantics (RFC 8881 18.26 defers to them):
//  - Source and target naming the same file (same entry, or two hard links): nothing changes.
//  - An existing target is replaced atomically if compatible: a non-directory by a
//    non-directory, a directory by a directory only if the target is empty (else kNotEmpty);
//    a directory over a non-directory is kNotDir, a non-directory over a directory kIsDir.
//  - A directory cannot move into its own subtree (kInvalid).
//  - Directory moved across parents: its ".." changes, the old parent loses a link, the new
//    parent gains one. The moved entry gets a new cookie in the target directory.
//  - Both parents: mtime, ctime, change. The moved inode: ctime, change. A replaced target
//    loses a link (and at nlink 0 its inode and extents, returned to the caller, unless `keep`
//    says the regular file is open: then it becomes an orphan).
//
// The subtree check walks parent pointers from the target directory to the root. Only a
// directory moving between parents changes parent pointers, so such renames take one global
// lock, sys/"rename_lock", first (Linux's s_vfs_rename_mutex); with it held, no parent pointer
// on the walk can change underneath. Renames within one directory and of non-directories do not
// take it.
#include <algorithm>

#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

struct Parents {
  Inode src;
  Inode dst_storage;  // unused when same
  bool same = false;
  Inode& dst() { return same ? src : dst_storage; }
};

// Locks both parents in ascending fileid order (the global lock order, ops/common.h).
Result<Parents> LockParents(Txn& txn, FileId src, FileId dst) {
  Parents p;
  p.same = src == dst;
  if (p.same) {
    META_ASSIGN_OR_RETURN(p.src, LockDir(txn, src));
    return p;
  }
  META_ASSIGN_OR_RETURN(Inode first, LockDir(txn, std::min(src, dst)));
  META_ASSIGN_OR_RETURN(Inode second, LockDir(txn, std::max(src, dst)));
  p.src = src < dst ? std::move(first) : std::move(second);
  p.dst_storage = src < dst ? std::move(second) : std::move(first);
  return p;
}

Status TakeRenameLock(Txn& txn) {
  META_ASSIGN_OR_RETURN(std::string value, txn.GetForUpdate(Cf::kSys, kSysRenameLockKey));
  META_ASSIGN_OR_RETURN(uint64_t renames, DecodeSysU64(value));
  // Written, not only read, so that an optimistic engine also sees two such renames conflict.
  return txn.Put(Cf::kSys, kSysRenameLockKey, EncodeSysU64(renames + 1));
}

Status CheckNotAncestor(Txn& txn, FileId moved_dir, FileId dst_parent) {
  FileId cur = dst_parent;
  for (uint32_t depth = 0; depth < kDirDepthMax; depth++) {
    if (cur == moved_dir) {
      return Status(Code::kInvalid, "cannot move a directory into its own subtree");
    }
    if (cur == kRootFileId) return Status::Ok();
    META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, cur));
    cur = inode.parent;
  }
  return Status(Code::kCorruption, "parent chain longer than kDirDepthMax");
}

Status CheckReplaceable(const Dirent& src, const Dirent& dst) {
  const bool src_dir = src.type == FileType::kDir;
  const bool dst_dir = dst.type == FileType::kDir;
  if (src_dir && !dst_dir) return Status(Code::kNotDir, "cannot rename a directory over a file");
  if (!src_dir && dst_dir) return Status(Code::kIsDir, "cannot rename a file over a directory");
  return Status::Ok();
}

Result<Unlinked> ReplaceTarget(Txn& txn, const OpContext& ctx, Inode* dst_dir,
                               std::string_view name, const Dirent& target,
                               const KeepOrphan& keep) {
  if (target.type != FileType::kDir) {
    META_ASSIGN_OR_RETURN(Inode victim, LockInode(txn, target.child));
    META_RETURN_IF_ERROR(DropEntry(txn, dst_dir, name, target));
    return DropLink(txn, std::move(victim), ctx.now, keep);
  }
  META_ASSIGN_OR_RETURN(Inode victim, LockDir(txn, target.child));
  META_ASSIGN_OR_RETURN(bool empty, DirIsEmpty(txn, victim.fileid));
  if (!empty) return Status(Code::kNotEmpty, "target directory is not empty");
  if (dst_dir->nlink <= 2) return Status(Code::kCorruption, "directory nlink below subdirs");
  META_RETURN_IF_ERROR(DropEntry(txn, dst_dir, name, target));
  dst_dir->nlink--;
  return DropDir(txn, std::move(victim), ctx.now);
}

Status MoveEntry(Txn& txn, const OpContext& ctx, Parents& p, std::string_view src_name,
                 const Dirent& src, std::string_view dst_name, Inode moved) {
  META_RETURN_IF_ERROR(DropEntry(txn, &p.src, src_name, src));
  META_RETURN_IF_ERROR(AddEntry(txn, &p.dst(), dst_name, moved));
  if (moved.is_dir() && !p.same) {
    if (p.dst().nlink >= kLinksMax) {
      return Status(Code::kTooManyLinks, "target directory has " + std::to_string(kLinksMax) + " links");
    }
    p.src.nlink--;
    p.dst().nlink++;
    moved.parent = p.dst().fileid;
  }
  TouchInode(&moved, ctx.now);
  return WriteInode(txn, moved);
}

Status WriteParents(Txn& txn, const OpContext& ctx, Parents& p, RenameResult* out) {
  TouchDir(&p.src, ctx.now);
  META_RETURN_IF_ERROR(WriteInode(txn, p.src));
  if (!p.same) {
    TouchDir(&p.dst_storage, ctx.now);
    META_RETURN_IF_ERROR(WriteInode(txn, p.dst_storage));
  }
  out->src_dir.after = p.src.change;
  out->dst_dir.after = p.dst().change;
  return Status::Ok();
}

}  // namespace

Result<RenameResult> Rename(Txn& txn, const OpContext& ctx, FileId src_parent,
                            std::string_view src_name, FileId dst_parent,
                            std::string_view dst_name, const KeepOrphan& keep) {
  META_RETURN_IF_ERROR(ValidateName(src_name));
  META_RETURN_IF_ERROR(ValidateName(dst_name));
  // Unlocked peek: does this rename move a directory between parents (global lock first)?
  META_ASSIGN_OR_RETURN(std::optional<Dirent> peek, ReadDirent(txn, src_parent, src_name));
  const bool tree_locked = src_parent != dst_parent && peek && peek->type == FileType::kDir;
  if (tree_locked) META_RETURN_IF_ERROR(TakeRenameLock(txn));

  META_ASSIGN_OR_RETURN(Parents p, LockParents(txn, src_parent, dst_parent));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> src, LockDirent(txn, src_parent, src_name));
  if (!src) return Status(Code::kNotFound, "no entry '" + std::string(src_name) + "'");
  if (src->type == FileType::kDir && !p.same && !tree_locked) {
    return Status(Code::kConflict, "source became a directory after the peek");  // retry
  }
  META_ASSIGN_OR_RETURN(std::optional<Dirent> dst, LockDirent(txn, dst_parent, dst_name));
  RenameResult out{ChangeOf(p.src), ChangeOf(p.dst()), std::nullopt, false};
  if (dst && dst->child == src->child) {
    out.noop = true;
    return out;
  }
  if (src->type == FileType::kDir && !p.same) {
    META_RETURN_IF_ERROR(CheckNotAncestor(txn, src->child, dst_parent));
  }
  if (dst) META_RETURN_IF_ERROR(CheckReplaceable(*src, *dst));
  META_ASSIGN_OR_RETURN(Inode moved, LockInode(txn, src->child));
  if (dst) {
    META_ASSIGN_OR_RETURN(Unlinked replaced, ReplaceTarget(txn, ctx, &p.dst(), dst_name, *dst, keep));
    out.replaced = std::move(replaced);
  }
  META_RETURN_IF_ERROR(MoveEntry(txn, ctx, p, src_name, *src, dst_name, std::move(moved)));
  META_RETURN_IF_ERROR(WriteParents(txn, ctx, p, &out));
  return out;
}

}  // namespace manifold::meta::ops
