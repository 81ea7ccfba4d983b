// CREATE of every type but directories (mkdir.cc): regular files (OPEN with create), symlinks,
// block and character devices, FIFOs and sockets.
//
// Locks: the parent directory inode (its entries, counters and cookie change), then the name.
// A regular file asked for with kUnchecked or kExclusive may already exist: it is returned
// unchanged (created = false); kExclusive only when the stored verifier matches (RFC 8881
// 18.16.3: a retransmitted exclusive create).
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Status ValidateArgs(const CreateArgs& args) {
  if (args.mode & ~07777u) return Status(Code::kInvalid, "mode has non-permission bits");
  if (args.type == FileType::kDir) return Status(Code::kInvalid, "use Mkdir for directories");
  if (args.how != CreateMode::kGuarded && args.type != FileType::kReg) {
    return Status(Code::kInvalid, "unchecked/exclusive create is for regular files");
  }
  if (args.type == FileType::kSymlink) {
    if (args.symlink_target.empty()) return Status(Code::kInvalid, "empty symlink target");
    if (args.symlink_target.size() > kSymlinkTargetBytesMax) {
      return Status(Code::kTooBig,
                    "symlink target exceeds " + std::to_string(kSymlinkTargetBytesMax) + " bytes");
    }
  } else if (!args.symlink_target.empty()) {
    return Status(Code::kInvalid, "symlink target on a non-symlink");
  }
  return Status::Ok();
}

// The name exists: decide between returning the existing file and kExists.
Result<CreateResult> CreateExisting(Txn& txn, const Inode& dir, std::string_view name,
                                    const Dirent& existing, const CreateArgs& args) {
  const Status exists(Code::kExists, "'" + std::string(name) + "' exists");
  if (args.how == CreateMode::kGuarded || existing.type != FileType::kReg) return exists;
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, existing.child));
  if (args.how == CreateMode::kExclusive &&
      (!inode.exclusive_created || inode.create_verifier != args.verifier)) {
    return exists;  // another create's file, or another exclusive create's (verifier 0 too)
  }
  return CreateResult{std::move(inode), false, ChangeOf(dir)};
}

Inode NewInode(const OpContext& ctx, FileId fileid, const CreateArgs& args) {
  Inode n;
  n.fileid = fileid;
  n.type = args.type;
  n.mode = args.mode;
  n.uid = args.uid;
  n.gid = args.gid;
  n.atime = n.mtime = n.ctime = n.crtime = ctx.now;
  n.change = 1;
  n.nlink = 1;
  n.generation = ctx.next_generation();
  if (args.type == FileType::kBlk || args.type == FileType::kChr) n.rdev = args.rdev;
  if (args.type == FileType::kSymlink) {
    n.symlink_target = args.symlink_target;
    n.size_bytes = args.symlink_target.size();
  }
  if (args.how == CreateMode::kExclusive) {
    n.create_verifier = args.verifier;
    n.exclusive_created = true;
  }
  return n;
}

}  // namespace

Result<CreateResult> Create(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                            const CreateArgs& args) {
  META_RETURN_IF_ERROR(ValidateName(name));
  META_RETURN_IF_ERROR(ValidateArgs(args));
  META_ASSIGN_OR_RETURN(Inode dir, LockDir(txn, parent));
  META_ASSIGN_OR_RETURN(std::optional<Dirent> existing, LockDirent(txn, parent, name));
  if (existing) return CreateExisting(txn, dir, name, *existing, args);

  META_ASSIGN_OR_RETURN(FileId fileid, ctx.next_fileid());
  Inode child = NewInode(ctx, fileid, args);
  DirChange change = ChangeOf(dir);
  META_RETURN_IF_ERROR(AddEntry(txn, &dir, name, child));
  TouchDir(&dir, ctx.now);
  change.after = dir.change;
  META_RETURN_IF_ERROR(WriteInode(txn, child));
  META_RETURN_IF_ERROR(WriteInode(txn, dir));
  return CreateResult{std::move(child), true, change};
}

}  // namespace manifold::meta::ops
