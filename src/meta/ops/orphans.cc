// Orphans: regular files whose last name went while a client still had them open
// (docs/schema.md, "Orphans"). DropLink (common.cc) makes them; PurgeOrphan deletes them once
// nobody has them open; ListOrphans pages through them for the sweeper that finds those.
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {

// Locks the inode, then its orphans key (the order DropLink writes them in). The inode's lock
// also serializes this with every writer of the file's extents and xattrs, so nothing can be
// added to the file between the scan and the commit.
Result<Unlinked> PurgeOrphan(Txn& txn, FileId fileid, const KeepOrphan& keep) {
  Unlinked out;
  Result<Inode> inode = LockInode(txn, fileid);
  if (!inode.ok()) {
    if (inode.status().code() == Code::kStale) return out;  // purged already
    return inode.status();
  }
  out.inode = std::move(*inode);
  if (out.inode.nlink > 0 || out.inode.is_dir()) return out;  // not an orphan
  Result<std::string> record = txn.GetForUpdate(Cf::kOrphans, OrphanKey(fileid));
  if (!record.ok()) {
    if (record.status().code() != Code::kNotFound) return record.status();
    return Status(Code::kCorruption,
                  "fileid " + std::to_string(fileid) + " has nlink 0 but no orphans key");
  }
  if (keep && keep(fileid)) return out;
  META_RETURN_IF_ERROR(txn.Delete(Cf::kOrphans, OrphanKey(fileid)));
  META_ASSIGN_OR_RETURN(out.extents, DropInode(txn, out.inode));
  out.dropped = true;
  return out;
}

Result<std::vector<OrphanRecord>> ListOrphans(Txn& txn, FileId after_fileid, uint32_t max) {
  if (max == 0 || max > kListPageEntriesMax) {
    return Status(Code::kInvalid, "max must be 1.." + std::to_string(kListPageEntriesMax));
  }
  std::vector<OrphanRecord> out;
  if (after_fileid == UINT64_MAX) return out;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kOrphans, OrphanKey(after_fileid + 1), "");
  for (; it->Valid() && out.size() < max; it->Next()) {
    META_ASSIGN_OR_RETURN(OrphanRecord orphan, DecodeOrphan(it->key(), it->value()));
    out.push_back(orphan);
  }
  META_RETURN_IF_ERROR(it->status());
  return out;
}

}  // namespace manifold::meta::ops
