// REMOVE of a non-directory (unlink(2)), and NFSv4 REMOVE of any name (RemoveKind::kAny, which
// hands directories to rmdir.cc inside the same transaction).
//
// Locks the parent, the name, then the child inode. The child loses one link; at nlink 0 the
// inode and all its extents are deleted and returned, so the caller can delete the data on
// the volumes after the commit, unless `keep` says the regular file is still open: then it
// becomes an orphan in the same transaction (docs/schema.md, "Orphans").
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<RemoveResult> Remove(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                            RemoveKind kind, const KeepOrphan& keep) {
  META_RETURN_IF_ERROR(ValidateName(name));
  META_ASSIGN_OR_RETURN(Inode dir, LockDir(txn, parent));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> entry, LockDirent(txn, parent, name));
  if (!entry) return Status(Code::kNotFound, "no entry '" + std::string(name) + "'");
  if (entry->type == FileType::kDir) {
    if (kind == RemoveKind::kNonDir)
      return Status(Code::kIsDir, "'" + std::string(name) + "' is a directory");
    return RemoveDirEntry(txn, ctx, &dir, name, *entry);
  }
  if (kind == RemoveKind::kDirOnly) {
    return Status(Code::kNotDir, "'" + std::string(name) + "' is not a directory");
  }

  META_ASSIGN_OR_RETURN(Inode child, LockInode(txn, entry->child));
  RemoveResult out;
  out.dir = ChangeOf(dir);
  META_RETURN_IF_ERROR(DropEntry(txn, &dir, name, *entry));
  TouchDir(&dir, ctx.now);
  out.dir.after = dir.change;
  META_ASSIGN_OR_RETURN(out.unlinked, DropLink(txn, std::move(child), ctx.now, keep));
  META_RETURN_IF_ERROR(WriteInode(txn, dir));
  return out;
}

}  // namespace manifold::meta::ops
