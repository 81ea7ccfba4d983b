// READDIR: read-only, one snapshot. Walks the directory's dircookies in cookie order from the
// caller's cookie, so a cookie stays valid while the directory changes: entries added later
// get larger cookies (they appear if the listing has not passed them), removed entries simply
// vanish, and an entry present for the whole listing is returned exactly once. Memory is
// bounded by max_entries: a 1e6-entry directory is never loaded, only paged through.
#include <algorithm>

#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

// Entries reserved up front for a page (a larger page grows as usual).
constexpr uint32_t kReadDirReserveMax = 1024;

Status CheckCookie(const Inode& dir, uint64_t cookie) {
  if (cookie == 0) return Status::Ok();
  if (cookie < kFirstDirCookie || cookie >= dir.next_dir_cookie) {
    return Status(Code::kInvalid, "cookie " + std::to_string(cookie) +
                                      " was never issued by directory " +
                                      std::to_string(dir.fileid));
  }
  return Status::Ok();
}

}  // namespace

Status ScanDir(Txn& txn, FileId dir_id, uint64_t cookie, bool with_attrs,
               const DirVisitor& visit, bool* eof, uint64_t* dir_change) {
  *eof = false;
  META_ASSIGN_OR_RETURN(Inode dir, ReadInode(txn, dir_id));
  if (!dir.is_dir()) return Status(Code::kNotDir, "readdir of a non-directory");
  META_RETURN_IF_ERROR(CheckCookie(dir, cookie));
  if (dir_change) *dir_change = dir.change;
  const uint64_t start = cookie == 0 ? kFirstDirCookie : cookie + 1;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kDirCookies, DirCookieKey(dir_id, start),
                                                   PrefixSuccessor(DirentPrefix(dir_id)));
  DirEntry entry;  // refilled for each entry: its name keeps its buffer
  for (; it->Valid(); it->Next()) {
    META_ASSIGN_OR_RETURN(DirCookieEntry e, DecodeDirCookie(it->value()));
    entry.name.assign(e.name);
    entry.fileid = e.child;
    entry.type = e.type;
    entry.cookie = DirCookieFromKey(it->key());
    entry.attrs.reset();
    if (with_attrs) {
      META_ASSIGN_OR_RETURN(Inode attrs, ReadInode(txn, entry.fileid));
      entry.attrs = std::move(attrs);
    }
    if (!visit(entry)) return it->status();
  }
  META_RETURN_IF_ERROR(it->status());
  *eof = true;
  return Status::Ok();
}

Result<ReadDirResult> ReadDir(Txn& txn, FileId dir_id, uint64_t cookie, uint32_t max_entries,
                              bool with_attrs) {
  if (max_entries == 0 || max_entries > kReadDirEntriesMax) {
    return Status(Code::kInvalid, "max_entries must be 1.." + std::to_string(kReadDirEntriesMax));
  }
  ReadDirResult out;
  out.entries.reserve(std::min(max_entries, kReadDirReserveMax));
  // One entry past the page tells whether the directory ends with it; only the page's entries
  // get their inodes read.
  bool more = false;
  Status attrs_read = Status::Ok();
  auto keep = [&](DirEntry& e) {
    if (out.entries.size() == max_entries) {
      more = true;
      return false;
    }
    if (with_attrs) {
      Result<Inode> attrs = ReadInode(txn, e.fileid);
      if (!attrs.ok()) {
        attrs_read = attrs.status();
        return false;
      }
      e.attrs = std::move(*attrs);
    }
    out.entries.push_back(std::move(e));
    return true;
  };
  bool eof = false;
  META_RETURN_IF_ERROR(ScanDir(txn, dir_id, cookie, false, keep, &eof, &out.dir_change));
  META_RETURN_IF_ERROR(attrs_read);
  out.eof = eof && !more;
  return out;
}

}  // namespace manifold::meta::ops
