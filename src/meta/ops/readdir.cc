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

Result<ReadDirResult> ReadDir(Txn& txn, FileId dir_id, uint64_t cookie, uint32_t max_entries,
                              bool with_attrs) {
  if (max_entries == 0 || max_entries > kReadDirEntriesMax) {
    return Status(Code::kInvalid, "max_entries must be 1.." + std::to_string(kReadDirEntriesMax));
  }
  META_ASSIGN_OR_RETURN(Inode dir, ReadInode(txn, dir_id));
  if (!dir.is_dir()) return Status(Code::kNotDir, "readdir of a non-directory");
  META_RETURN_IF_ERROR(CheckCookie(dir, cookie));

  ReadDirResult out;
  out.dir_change = dir.change;
  out.entries.reserve(std::min(max_entries, kReadDirReserveMax));
  const uint64_t start = cookie == 0 ? kFirstDirCookie : cookie + 1;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kDirCookies, DirCookieKey(dir_id, start),
                                                   PrefixSuccessor(DirentPrefix(dir_id)));
  for (; it->Valid() && out.entries.size() < max_entries; it->Next()) {
    META_ASSIGN_OR_RETURN(DirCookieEntry e, DecodeDirCookie(it->value()));
    DirEntry entry{std::move(e.name), e.child, e.type, DirCookieFromKey(it->key()), std::nullopt};
    if (with_attrs) {
      META_ASSIGN_OR_RETURN(Inode attrs, ReadInode(txn, entry.fileid));
      entry.attrs = std::move(attrs);
    }
    out.entries.push_back(std::move(entry));
  }
  META_RETURN_IF_ERROR(it->status());
  out.eof = !it->Valid();
  META_RETURN_IF_ERROR(it->status());
  return out;
}

}  // namespace manifold::meta::ops
