// LINK: a new name for an existing non-directory. Locks the target directory, the new name,
// then the linked inode (same order as create/remove).
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<LinkResult> Link(Txn& txn, const OpContext& ctx, FileId fileid, FileId new_parent,
                        std::string_view new_name) {
  META_RETURN_IF_ERROR(ValidateName(new_name));
  META_ASSIGN_OR_RETURN(Inode dir, LockDir(txn, new_parent));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> existing, LockDirent(txn, new_parent, new_name));
  if (existing) return Status(Code::kExists, "'" + std::string(new_name) + "' exists");
  META_ASSIGN_OR_RETURN(Inode target, LockInode(txn, fileid));
  if (target.is_dir()) return Status(Code::kIsDir, "cannot hard-link a directory");
  // Linux refuses linkat(2) of an unlinked file with ENOENT; an orphan stays nameless until it
  // is purged (fsck: an inode with nlink 0 has no dirent).
  if (target.nlink == 0) return Status(Code::kNotFound, "file has no name left (an orphan)");
  if (target.nlink >= kLinksMax) {
    return Status(Code::kTooManyLinks, "file has " + std::to_string(kLinksMax) + " links");
  }

  LinkResult out;
  out.dir = ChangeOf(dir);
  META_RETURN_IF_ERROR(AddEntry(txn, &dir, new_name, target));
  TouchDir(&dir, ctx.now);
  out.dir.after = dir.change;
  target.nlink++;
  TouchInode(&target, ctx.now);
  META_RETURN_IF_ERROR(WriteInode(txn, target));
  META_RETURN_IF_ERROR(WriteInode(txn, dir));
  out.inode = std::move(target);
  return out;
}

}  // namespace manifold::meta::ops
