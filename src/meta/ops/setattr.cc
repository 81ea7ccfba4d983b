// SETATTR: mode, owner, size and times of one inode, optionally guarded by its change counter
// (kPrecondition when it moved on). ctime and change bump whenever anything is set. A size
// change (regular files only) also sets mtime and bumps data_generation, so that a mover's
// copy taken before the truncate is not committed (DESIGN.md section 5). A shrink also sets
// data_past_size in the same transaction; the caller cuts the data on the volumes after the
// commit and then clears it (DataCut).
//
// The set-id bits follow Linux (the VFS's setattr_copy and should_remove_suid, and knfsd's
// rule for a new owner), so that a client sees what a local file system does:
// - a new owner or group on anything but a directory drops S_ISUID, and S_ISGID with
//   group-execute set, whoever asks (a mode set in the same call loses them too);
// - a mode set by a caller without privilege who is not in the file's group loses S_ISGID;
// - a size change by a caller without privilege drops them as a write does.
#include <algorithm>

#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

bool Empty(const SetAttrArgs& a) {
  return !a.mode && !a.uid && !a.gid && !a.size_bytes && !a.atime && !a.mtime && !a.crtime;
}

Status ValidateArgs(const Inode& inode, const SetAttrArgs& args) {
  if (args.guard_change && *args.guard_change != inode.change) {
    return Status(Code::kPrecondition, "change is " + std::to_string(inode.change) + ", not " +
                                           std::to_string(*args.guard_change));
  }
  if (args.mode && (*args.mode & ~07777u)) {
    return Status(Code::kInvalid, "mode has non-permission bits");
  }
  if (args.size_bytes && inode.type != FileType::kReg) {
    if (inode.is_dir()) return Status(Code::kIsDir, "cannot set the size of a directory");
    return Status(Code::kInvalid, "size can only be set on a regular file");
  }
  for (const std::optional<SetTime>* t : {&args.atime, &args.mtime}) {
    if (*t && !(*t)->server_time && (*t)->time.nsec >= 1000000000u) {
      return Status(Code::kInvalid, "nanoseconds out of range");
    }
  }
  if (args.crtime && args.crtime->nsec >= 1000000000u) {
    return Status(Code::kInvalid, "nanoseconds out of range");
  }
  return Status::Ok();
}

void ApplySize(Inode* inode, uint64_t size_bytes, Timespec now) {
  if (size_bytes == inode->size_bytes) return;
  if (size_bytes < inode->size_bytes) inode->data_past_size = true;  // cut by the caller
  inode->size_bytes = size_bytes;
  inode->space_used_bytes = std::min(inode->space_used_bytes, size_bytes);
  inode->data_generation++;
  inode->mtime = now;
}

}  // namespace

Result<SetAttrResult> SetAttr(Txn& txn, const OpContext& ctx, FileId fileid,
                              const SetAttrArgs& args) {
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  META_RETURN_IF_ERROR(ValidateArgs(inode, args));
  SetAttrResult out{inode, inode};
  if (Empty(args)) return out;
  Inode& n = out.after;
  if (args.mode) n.mode = *args.mode;
  if (args.uid) n.uid = *args.uid;
  if (args.gid) n.gid = *args.gid;
  if (args.size_bytes) ApplySize(&n, *args.size_bytes, ctx.now);
  if (args.atime) n.atime = args.atime->server_time ? ctx.now : args.atime->time;
  if (args.mtime) n.mtime = args.mtime->server_time ? ctx.now : args.mtime->time;
  if (args.crtime) n.crtime = *args.crtime;
  if (const Identity* who = args.caller) {
    if ((args.uid || args.gid) && !n.is_dir()) n.mode = WithoutSetIdBits(n.mode);
    if (args.mode && !who->is_root() && !who->InGroup(n.gid)) n.mode &= ~kModeSetGid;
    if (args.size_bytes && !who->is_root()) n.mode = WithoutSetIdBits(n.mode);
  }
  TouchInode(&n, ctx.now);
  META_RETURN_IF_ERROR(WriteInode(txn, n));
  return out;
}

Status DataCut(Txn& txn, FileId fileid, uint64_t size_bytes) {
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  if (!inode.data_past_size || inode.size_bytes < size_bytes) return Status::Ok();
  inode.data_past_size = false;
  return WriteInode(txn, inode);
}

}  // namespace manifold::meta::ops
