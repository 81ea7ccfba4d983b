// RMDIR: removes an empty directory. The emptiness check runs under the directory's inode lock,
// which every create/link/rename into it also takes, so no entry can appear between the check
// and the commit. The parent loses one link (the removed directory's "..").
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<RemoveResult> RemoveDirEntry(Txn& txn, const OpContext& ctx, Inode* parent_dir,
                                    std::string_view name, const Dirent& entry) {
  META_ASSIGN_OR_RETURN(Inode victim, LockDir(txn, entry.child));
  META_ASSIGN_OR_RETURN(bool empty, DirIsEmpty(txn, victim.fileid));
  if (!empty) return Status(Code::kNotEmpty, "directory '" + std::string(name) + "' is not empty");

  RemoveResult out;
  out.dir = ChangeOf(*parent_dir);
  META_RETURN_IF_ERROR(DropEntry(txn, parent_dir, name, entry));
  if (parent_dir->nlink <= 2) {
    return Status(Code::kCorruption, "directory " + std::to_string(parent_dir->fileid) +
                                         " has a subdirectory but nlink " +
                                         std::to_string(parent_dir->nlink));
  }
  parent_dir->nlink--;
  TouchDir(parent_dir, ctx.now);
  out.dir.after = parent_dir->change;
  META_ASSIGN_OR_RETURN(out.unlinked, DropDir(txn, std::move(victim), ctx.now));
  META_RETURN_IF_ERROR(WriteInode(txn, *parent_dir));
  return out;
}

Result<RemoveResult> RmDir(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name) {
  return Remove(txn, ctx, parent, name, RemoveKind::kDirOnly, KeepOrphan());
}

}  // namespace manifold::meta::ops
