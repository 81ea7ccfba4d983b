// LOOKUP and LOOKUPP: read-only, one snapshot.
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<Inode> Lookup(Txn& txn, FileId parent, std::string_view name) {
  META_RETURN_IF_ERROR(ValidateName(name));
  META_ASSIGN_OR_RETURN(Inode dir, ReadInode(txn, parent));
  if (!dir.is_dir()) return Status(Code::kNotDir, "lookup in a non-directory");
  return LookupChild(txn, parent, name);
}

Result<Inode> LookupChild(Txn& txn, FileId dir, std::string_view name) {
  META_ASSIGN_OR_RETURN(FileId child_id, EntryOf(txn, dir, name));
  Result<Inode> child = ReadInode(txn, child_id);
  if (!child.ok() && child.status().code() == Code::kStale) {
    // Same snapshot as the dirent: a dangling entry is damage, not a race.
    return Status(Code::kCorruption, "entry '" + std::string(name) + "' names missing fileid " +
                                         std::to_string(child_id));
  }
  return child;
}

Result<FileId> EntryOf(Txn& txn, FileId dir, std::string_view name) {
  META_RETURN_IF_ERROR(ValidateName(name));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> entry, ReadDirent(txn, dir, name));
  if (!entry) return Status(Code::kNotFound, "no entry '" + std::string(name) + "'");
  return entry->child;
}

Result<Inode> LookupParent(Txn& txn, FileId dir) {
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, dir));
  if (!inode.is_dir()) return Status(Code::kNotDir, "lookupp of a non-directory");
  return ReadInode(txn, inode.parent);
}

}  // namespace manifold::meta::ops
