// MKDIR (CREATE of NF4DIR). The new directory has nlink 2 ("." and its entry in the parent),
// its parent's nlink grows by one (the new directory's ".."), and its cookies start at
// kFirstDirCookie.
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Inode NewDir(const OpContext& ctx, FileId fileid, FileId parent, const CreateArgs& args) {
  Inode n;
  n.fileid = fileid;
  n.type = FileType::kDir;
  n.mode = args.mode;
  n.uid = args.uid;
  n.gid = args.gid;
  n.atime = n.mtime = n.ctime = n.crtime = ctx.now;
  n.change = 1;
  n.nlink = 2;
  n.generation = ctx.next_generation();
  n.next_dir_cookie = kFirstDirCookie;
  n.parent = parent;
  return n;
}

}  // namespace

Result<CreateResult> Mkdir(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                           const CreateArgs& args) {
  META_RETURN_IF_ERROR(ValidateName(name));
  if (args.mode & ~07777u) return Status(Code::kInvalid, "mode has non-permission bits");
  if (args.type != FileType::kDir || args.how != CreateMode::kGuarded) {
    return Status(Code::kInvalid, "mkdir takes a guarded directory create");
  }
  META_ASSIGN_OR_RETURN(Inode dir, LockDir(txn, parent));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> existing, LockDirent(txn, parent, name));
  if (existing) return Status(Code::kExists, "'" + std::string(name) + "' exists");
  if (dir.nlink >= kLinksMax) {
    return Status(Code::kTooManyLinks, "directory has " + std::to_string(kLinksMax) + " links");
  }

  META_ASSIGN_OR_RETURN(FileId fileid, ctx.next_fileid());
  Inode child = NewDir(ctx, fileid, parent, args);
  DirChange change = ChangeOf(dir);
  META_RETURN_IF_ERROR(AddEntry(txn, &dir, name, child));
  dir.nlink++;
  TouchDir(&dir, ctx.now);
  change.after = dir.change;
  META_RETURN_IF_ERROR(WriteInode(txn, child));
  META_RETURN_IF_ERROR(WriteInode(txn, dir));
  return CreateResult{std::move(child), true, change};
}

}  // namespace manifold::meta::ops
