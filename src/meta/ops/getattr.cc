// GETATTR: read-only. A fileid that is gone, or whose generation differs from the one the
// caller's filehandle carries, is stale.
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

Result<Inode> GetAttr(Txn& txn, FileId fileid, std::optional<uint32_t> generation) {
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, fileid));
  if (generation && *generation != inode.generation) {
    return Status(Code::kStale, "fileid " + std::to_string(fileid) + " generation " +
                                    std::to_string(*generation) + " is not current");
  }
  return inode;
}

}  // namespace manifold::meta::ops
