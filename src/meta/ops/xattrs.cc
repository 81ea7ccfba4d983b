// Extended attributes (RFC 8276) of one inode: two records per xattr, like dirents and
// dircookies. xattrs/(fileid, name) holds the value and the xattr's cookie; xattrcookies/
// (fileid, cookie) holds the name, so that a listing walks the xattrs in cookie order and a
// cookie stays valid while other xattrs come and go. The inode counts them (xattr_count,
// xattr_bytes) for the per-inode bounds and hands out cookies (xattr_cookies_issued).
//
// Every writer locks the inode first and only then touches the inode's xattr records, so the
// inode lock protects them all: the records are read with plain Get under it (kv.h contract).
// A change bumps the inode's change counter and ctime (not mtime: the data did not change).
#include <optional>
#include <string>
#include <vector>

#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Status ValidateXattrName(std::string_view name) {
  if (name.empty()) return Status(Code::kInvalid, "empty xattr name");
  if (name.size() > kXattrNameBytesMax) {
    return Status(Code::kTooBig, "xattr name of " + std::to_string(name.size()) +
                                     " bytes exceeds " + std::to_string(kXattrNameBytesMax));
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalid, "xattr name has NUL");
  }
  return Status::Ok();
}

Result<std::optional<XattrRecord>> ReadXattr(Txn& txn, FileId fileid, std::string_view name) {
  Result<std::string> value = txn.Get(Cf::kXattrs, XattrKey(fileid, name));
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return std::optional<XattrRecord>();
    return value.status();
  }
  META_ASSIGN_OR_RETURN(XattrRecord xattr, DecodeXattr(*value));
  return std::optional<XattrRecord>(std::move(xattr));
}

Status NotFound(std::string_view name) {
  return Status(Code::kNotFound, "no xattr '" + std::string(name) + "'");
}

// The inode's xattr totals once `name` holds `value` (replacing `old`, if any): kNoSpace over
// a per-inode bound.
Status Account(Inode* inode, std::string_view name, const std::optional<XattrRecord>& old,
               std::string_view value) {
  uint64_t bytes = inode->xattr_bytes + name.size() + value.size();
  uint32_t count = inode->xattr_count + 1;
  if (old) {
    if (bytes < name.size() + old->value.size() || count == 1) {
      return Status(Code::kCorruption,
                    "xattr totals of fileid " + std::to_string(inode->fileid) + " below a record");
    }
    bytes -= name.size() + old->value.size();
    count--;
  }
  if (count > kXattrsPerInodeMax) {
    return Status(Code::kNoSpace, "fileid " + std::to_string(inode->fileid) + " has " +
                                      std::to_string(kXattrsPerInodeMax) + " xattrs");
  }
  if (bytes > kXattrBytesPerInodeMax) {
    return Status(Code::kNoSpace, "xattrs of fileid " + std::to_string(inode->fileid) +
                                      " would exceed " + std::to_string(kXattrBytesPerInodeMax) +
                                      " bytes");
  }
  inode->xattr_count = count;
  inode->xattr_bytes = bytes;
  return Status::Ok();
}

}  // namespace

Result<std::string> GetXattr(Txn& txn, FileId fileid, std::string_view name) {
  META_RETURN_IF_ERROR(ValidateXattrName(name));
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, fileid));
  META_ASSIGN_OR_RETURN(std::optional<XattrRecord> xattr, ReadXattr(txn, inode.fileid, name));
  if (!xattr) return NotFound(name);
  return std::move(xattr->value);
}

Result<DirChange> SetXattr(Txn& txn, const OpContext& ctx, FileId fileid, std::string_view name,
                           std::string_view value, XattrSetMode mode) {
  META_RETURN_IF_ERROR(ValidateXattrName(name));
  if (value.size() > kXattrValueBytesMax) {
    return Status(Code::kTooBig, "xattr value of " + std::to_string(value.size()) +
                                     " bytes exceeds " + std::to_string(kXattrValueBytesMax));
  }
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  META_ASSIGN_OR_RETURN(std::optional<XattrRecord> old, ReadXattr(txn, fileid, name));
  if (old && mode == XattrSetMode::kCreate) {
    return Status(Code::kExists, "xattr '" + std::string(name) + "' exists");
  }
  if (!old && mode == XattrSetMode::kReplace) return NotFound(name);
  META_RETURN_IF_ERROR(Account(&inode, name, old, value));
  XattrRecord record{old ? old->cookie : ++inode.xattr_cookies_issued, std::string(value)};
  META_RETURN_IF_ERROR(txn.Put(Cf::kXattrs, XattrKey(fileid, name), EncodeXattr(record)));
  if (!old) {
    META_RETURN_IF_ERROR(
        txn.Put(Cf::kXattrCookies, XattrCookieKey(fileid, record.cookie), EncodeXattrCookie(name)));
  }
  DirChange change = ChangeOf(inode);
  TouchInode(&inode, ctx.now);
  change.after = inode.change;
  META_RETURN_IF_ERROR(WriteInode(txn, inode));
  return change;
}

Result<DirChange> RemoveXattr(Txn& txn, const OpContext& ctx, FileId fileid,
                              std::string_view name) {
  META_RETURN_IF_ERROR(ValidateXattrName(name));
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  META_ASSIGN_OR_RETURN(std::optional<XattrRecord> old, ReadXattr(txn, fileid, name));
  if (!old) return NotFound(name);
  const uint64_t bytes = name.size() + old->value.size();
  if (inode.xattr_count == 0 || inode.xattr_bytes < bytes) {
    return Status(Code::kCorruption,
                  "xattr totals of fileid " + std::to_string(fileid) + " below a record");
  }
  META_RETURN_IF_ERROR(txn.Delete(Cf::kXattrs, XattrKey(fileid, name)));
  META_RETURN_IF_ERROR(txn.Delete(Cf::kXattrCookies, XattrCookieKey(fileid, old->cookie)));
  inode.xattr_count--;
  inode.xattr_bytes -= bytes;
  DirChange change = ChangeOf(inode);
  TouchInode(&inode, ctx.now);
  change.after = inode.change;
  META_RETURN_IF_ERROR(WriteInode(txn, inode));
  return change;
}

Result<XattrListResult> ListXattrs(Txn& txn, FileId fileid, uint64_t cookie, uint32_t max_names) {
  if (max_names == 0 || max_names > kListXattrsNamesMax) {
    return Status(Code::kInvalid, "max_names must be 1.." + std::to_string(kListXattrsNamesMax));
  }
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, fileid));
  if (cookie > inode.xattr_cookies_issued) {
    return Status(Code::kInvalid, "xattr cookie " + std::to_string(cookie) +
                                      " was never issued by fileid " + std::to_string(fileid));
  }
  XattrListResult out;
  std::unique_ptr<KvIterator> it = txn.NewIterator(
      Cf::kXattrCookies, XattrCookieKey(fileid, cookie + 1), PrefixSuccessor(XattrPrefix(fileid)));
  for (; it->Valid() && out.names.size() < max_names; it->Next()) {
    META_ASSIGN_OR_RETURN(std::string name, DecodeXattrCookie(it->value()));
    out.names.push_back(XattrName{std::move(name), XattrCookieFromKey(it->key())});
  }
  META_RETURN_IF_ERROR(it->status());
  out.eof = !it->Valid();
  META_RETURN_IF_ERROR(it->status());
  return out;
}

Status DropXattrs(Txn& txn, const Inode& inode) {
  if (inode.xattr_count == 0) return Status::Ok();  // the common case: no scan
  for (Cf cf : {Cf::kXattrs, Cf::kXattrCookies}) {
    // Keys first, deletes after: the iterator must not run over its own transaction's changes.
    std::vector<std::string> keys;
    std::unique_ptr<KvIterator> it = NewPrefixIterator(txn, cf, XattrPrefix(inode.fileid));
    for (; it->Valid() && keys.size() <= kXattrsPerInodeMax; it->Next()) {
      keys.emplace_back(it->key());
    }
    META_RETURN_IF_ERROR(it->status());
    if (keys.size() != inode.xattr_count) {
      return Status(Code::kCorruption, "fileid " + std::to_string(inode.fileid) + " counts " +
                                           std::to_string(inode.xattr_count) + " xattrs, " +
                                           CfName(cf) + " has " + std::to_string(keys.size()));
    }
    for (const std::string& key : keys) META_RETURN_IF_ERROR(txn.Delete(cf, key));
  }
  return Status::Ok();
}

}  // namespace manifold::meta::ops
