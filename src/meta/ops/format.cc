// First open of a store: the format version, the fileid counter and the root directory, in one
// transaction. Later opens: refuse any other format version.
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Inode NewRoot(const OpContext& ctx) {
  Inode root;
  root.fileid = kRootFileId;
  root.type = FileType::kDir;
  root.mode = 0755;
  root.atime = root.mtime = root.ctime = root.crtime = ctx.now;
  root.change = 1;
  root.nlink = 2;
  root.generation = ctx.next_generation();
  root.next_dir_cookie = kFirstDirCookie;
  root.parent = kRootFileId;
  return root;
}

Status CheckVersion(const std::string& value) {
  META_ASSIGN_OR_RETURN(uint64_t version, DecodeSysU64(value));
  if (version != kFormatVersion) {
    return Status(Code::kCorruption, "store format version " + std::to_string(version) +
                                         " is not this build's " + std::to_string(kFormatVersion));
  }
  return Status::Ok();
}

}  // namespace

Status EnsureFormat(Txn& txn, const OpContext& ctx) {
  Result<std::string> version = txn.GetForUpdate(Cf::kSys, kSysFormatVersionKey);
  if (version.ok()) return CheckVersion(*version);
  if (version.status().code() != Code::kNotFound) return version.status();

  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kInodes, "", "");
  if (it->Valid()) return Status(Code::kCorruption, "inodes present but no format version");
  META_RETURN_IF_ERROR(it->status());
  META_RETURN_IF_ERROR(txn.Put(Cf::kSys, kSysFormatVersionKey, EncodeSysU64(kFormatVersion)));
  META_RETURN_IF_ERROR(txn.Put(Cf::kSys, kSysNextFileIdKey, EncodeSysU64(kFirstAllocatedFileId)));
  META_RETURN_IF_ERROR(txn.Put(Cf::kSys, kSysRenameLockKey, EncodeSysU64(0)));
  return WriteInode(txn, NewRoot(ctx));
}

}  // namespace manifold::meta::ops
