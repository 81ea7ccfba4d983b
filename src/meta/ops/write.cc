// RecordWrite: data reached a file through the MDS (proxied WRITE) or a client reported it
// (LAYOUTCOMMIT). The size grows to cover it, data_generation bumps (movers compare it before
// switching instances, DESIGN.md section 5), mtime is the client's or now. A write without
// privilege drops the set-id bits (WithoutSetIdBits, common/identity.h).
#include <algorithm>

#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<Inode> RecordWrite(Txn& txn, const OpContext& ctx, FileId fileid, uint64_t end_offset_bytes,
                          std::optional<Timespec> mtime, bool drop_set_id) {
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  if (inode.is_dir()) return Status(Code::kIsDir, "write to a directory");
  if (inode.type != FileType::kReg) return Status(Code::kInvalid, "write to a special file");
  if (mtime && mtime->nsec >= 1000000000u) return Status(Code::kInvalid, "bad mtime");
  inode.size_bytes = std::max(inode.size_bytes, end_offset_bytes);
  inode.space_used_bytes = std::max(inode.space_used_bytes, end_offset_bytes);
  inode.data_generation++;
  inode.mtime = mtime ? *mtime : ctx.now;
  if (drop_set_id) inode.mode = WithoutSetIdBits(inode.mode);
  TouchInode(&inode, ctx.now);
  META_RETURN_IF_ERROR(WriteInode(txn, inode));
  return inode;
}

}  // namespace manifold::meta::ops
