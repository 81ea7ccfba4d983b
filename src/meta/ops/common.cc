#include "meta/ops/common.h"

#include "common/check.h"
#include "meta/limits.h"

namespace manifold::meta::ops {
namespace {

Result<Inode> InodeFrom(FileId fileid, Result<std::string> value) {
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) {
      return Status(Code::kStale, "fileid " + std::to_string(fileid) + " does not exist");
    }
    return value.status();
  }
  return DecodeInode(fileid, *value);
}

Result<std::optional<Dirent>> DirentFrom(Result<std::string> value) {
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return std::optional<Dirent>();
    return value.status();
  }
  META_ASSIGN_OR_RETURN(Dirent dirent, DecodeDirent(*value));
  return std::optional<Dirent>(dirent);
}

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalid, "empty name");
  if (name == "." || name == "..") return Status(Code::kInvalid, "name is . or ..");
  if (name.size() > kNameBytesMax) {
    return Status(Code::kTooBig, "name of " + std::to_string(name.size()) + " bytes exceeds " +
                                     std::to_string(kNameBytesMax));
  }
  if (name.find('/') != std::string_view::npos) return Status(Code::kInvalid, "name has '/'");
  if (name.find('\0') != std::string_view::npos) return Status(Code::kInvalid, "name has NUL");
  return Status::Ok();
}

Result<Inode> ReadInode(Txn& txn, FileId fileid) {
  return InodeFrom(fileid, txn.Get(Cf::kInodes, InodeKey(fileid)));
}

Result<Inode> LockInode(Txn& txn, FileId fileid) {
  return InodeFrom(fileid, txn.GetForUpdate(Cf::kInodes, InodeKey(fileid)));
}

Result<Inode> LockDir(Txn& txn, FileId fileid) {
  META_ASSIGN_OR_RETURN(Inode dir, LockInode(txn, fileid));
  if (!dir.is_dir()) {
    return Status(Code::kNotDir, "fileid " + std::to_string(fileid) + " is not a directory");
  }
  return dir;
}

Status WriteInode(Txn& txn, const Inode& inode) {
  return txn.Put(Cf::kInodes, InodeKey(inode.fileid), EncodeInode(inode));
}

Result<std::optional<Dirent>> ReadDirent(Txn& txn, FileId parent, std::string_view name) {
  return DirentFrom(txn.Get(Cf::kDirents, DirentKey(parent, name)));
}

Result<std::optional<Dirent>> LockDirent(Txn& txn, FileId parent, std::string_view name) {
  return DirentFrom(txn.GetForUpdate(Cf::kDirents, DirentKey(parent, name)));
}

Status AddEntry(Txn& txn, Inode* dir, std::string_view name, const Inode& child) {
  MANIFOLD_CHECK(dir->is_dir() && dir->next_dir_cookie >= kFirstDirCookie);
  const uint64_t cookie = dir->next_dir_cookie++;
  Dirent dirent{child.fileid, child.type, cookie};
  DirCookieEntry by_cookie{std::string(name), child.fileid, child.type};
  META_RETURN_IF_ERROR(txn.Put(Cf::kDirents, DirentKey(dir->fileid, name), EncodeDirent(dirent)));
  META_RETURN_IF_ERROR(
      txn.Put(Cf::kDirCookies, DirCookieKey(dir->fileid, cookie), EncodeDirCookie(by_cookie)));
  dir->size_bytes++;
  return Status::Ok();
}

Status DropEntry(Txn& txn, Inode* dir, std::string_view name, const Dirent& entry) {
  META_RETURN_IF_ERROR(txn.Delete(Cf::kDirents, DirentKey(dir->fileid, name)));
  META_RETURN_IF_ERROR(txn.Delete(Cf::kDirCookies, DirCookieKey(dir->fileid, entry.cookie)));
  if (dir->size_bytes == 0) {
    return Status(Code::kCorruption,
                  "entry count of directory " + std::to_string(dir->fileid) + " would go below 0");
  }
  dir->size_bytes--;
  return Status::Ok();
}

Result<bool> DirIsEmpty(Txn& txn, FileId dir) {
  std::unique_ptr<KvIterator> it = NewPrefixIterator(txn, Cf::kDirents, DirentPrefix(dir));
  if (it->Valid()) return false;
  META_RETURN_IF_ERROR(it->status());
  return true;
}

void TouchDir(Inode* dir, Timespec now) {
  dir->mtime = now;
  TouchInode(dir, now);
}

void TouchInode(Inode* inode, Timespec now) {
  inode->ctime = now;
  inode->change++;
}

Result<Unlinked> DropLink(Txn& txn, Inode inode, Timespec now, const KeepOrphan& keep) {
  if (inode.nlink == 0) {
    return Status(Code::kCorruption, "fileid " + std::to_string(inode.fileid) + " has nlink 0");
  }
  inode.nlink--;
  TouchInode(&inode, now);
  Unlinked out;
  if (inode.nlink == 0 && inode.type == FileType::kReg && keep && keep(inode.fileid)) {
    META_RETURN_IF_ERROR(txn.Put(Cf::kOrphans, OrphanKey(inode.fileid),
                                 EncodeOrphan(OrphanRecord{inode.fileid, now})));
    out.orphaned = true;
  }
  if (inode.nlink > 0 || out.orphaned) {
    META_RETURN_IF_ERROR(WriteInode(txn, inode));
    out.inode = std::move(inode);
    return out;
  }
  META_ASSIGN_OR_RETURN(out.extents, DropInode(txn, inode));
  out.dropped = true;
  out.inode = std::move(inode);
  return out;
}

Result<std::vector<Extent>> DropInode(Txn& txn, const Inode& inode) {
  MANIFOLD_CHECK(!inode.is_dir());
  META_RETURN_IF_ERROR(txn.Delete(Cf::kInodes, InodeKey(inode.fileid)));
  META_RETURN_IF_ERROR(DropXattrs(txn, inode));
  META_ASSIGN_OR_RETURN(std::vector<Extent> extents, ScanExtents(txn, inode.fileid));
  for (const Extent& e : extents) {
    META_RETURN_IF_ERROR(txn.Delete(Cf::kExtents, ExtentKey(e.fileid, e.index)));
  }
  return extents;
}

Result<Unlinked> DropDir(Txn& txn, Inode dir, Timespec now) {
  dir.nlink = 0;
  TouchInode(&dir, now);
  META_RETURN_IF_ERROR(txn.Delete(Cf::kInodes, InodeKey(dir.fileid)));
  META_RETURN_IF_ERROR(DropXattrs(txn, dir));
  Unlinked out;
  out.inode = std::move(dir);
  out.dropped = true;
  return out;
}

}  // namespace manifold::meta::ops
