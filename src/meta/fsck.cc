#include "meta/fsck.h"

#include <unordered_map>
#include <vector>

#include "meta/codec.h"
#include "meta/limits.h"
#include "meta/macros.h"
#include "meta/schema.h"

namespace manifold::meta {
namespace {

struct Seen {
  Inode inode;
  uint32_t links = 0;    // dirents naming it
  uint32_t subdirs = 0;  // directories: dirents in it that name directories
  uint64_t entries = 0;  // directories: dirents in it
  uint32_t xattrs = 0;   // xattr records of it
  uint64_t xattr_bytes = 0;
  bool orphan = false;  // has an orphans key
};
using SeenMap = std::unordered_map<FileId, Seen>;

Status Bad(const std::string& what) { return Status(Code::kCorruption, "fsck: " + what); }

Status LoadInodes(Txn& txn, uint64_t inodes_max, SeenMap* seen) {
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kInodes, "", "");
  for (; it->Valid(); it->Next()) {
    if (it->key().size() != 8)
      return Bad("inode key of " + std::to_string(it->key().size()) + " bytes");
    if (seen->size() >= inodes_max)
      return Status(Code::kLimit, "fsck: more than inodes_max inodes");
    FileId fileid = GetFixed64BE(it->key());
    META_ASSIGN_OR_RETURN(Inode inode, DecodeInode(fileid, it->value()));
    (*seen)[fileid].inode = std::move(inode);
  }
  return it->status();
}

Status CheckDirent(Txn& txn, FileId parent, std::string_view name, const Dirent& d, SeenMap* seen) {
  const std::string where = "dirent " + std::to_string(parent) + "/" + std::string(name);
  auto p = seen->find(parent);
  if (p == seen->end() || !p->second.inode.is_dir()) return Bad(where + ": parent not a dir");
  auto c = seen->find(d.child);
  if (c == seen->end()) return Bad(where + ": child " + std::to_string(d.child) + " missing");
  if (c->second.inode.type != d.type) return Bad(where + ": type differs from the inode's");
  if (d.cookie < kFirstDirCookie || d.cookie >= p->second.inode.next_dir_cookie) {
    return Bad(where + ": cookie not issued by the directory");
  }
  Result<std::string> v = txn.Get(Cf::kDirCookies, DirCookieKey(parent, d.cookie));
  if (!v.ok()) return Bad(where + ": no dircookie " + std::to_string(d.cookie));
  META_ASSIGN_OR_RETURN(DirCookieEntry byc, DecodeDirCookie(*v));
  if (byc.name != name || byc.child != d.child || byc.type != d.type) {
    return Bad(where + ": dircookie disagrees");
  }
  if (d.type == FileType::kDir && c->second.inode.parent != parent) {
    return Bad(where + ": directory's parent pointer differs");
  }
  c->second.links++;
  p->second.entries++;
  if (d.type == FileType::kDir) p->second.subdirs++;
  return Status::Ok();
}

Result<uint64_t> CheckDirents(Txn& txn, SeenMap* seen) {
  uint64_t count = 0;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kDirents, "", "");
  for (; it->Valid(); it->Next(), count++) {
    if (it->key().size() <= 8) return Bad("short dirent key");
    META_ASSIGN_OR_RETURN(Dirent d, DecodeDirent(it->value()));
    META_RETURN_IF_ERROR(CheckDirent(txn, GetFixed64BE(it->key()), it->key().substr(8), d, seen));
  }
  META_RETURN_IF_ERROR(it->status());
  uint64_t cookies = 0;
  std::unique_ptr<KvIterator> c = txn.NewIterator(Cf::kDirCookies, "", "");
  for (; c->Valid(); c->Next()) cookies++;
  META_RETURN_IF_ERROR(c->status());
  // Every dirent has its own dircookie (checked above), so equal counts make it a bijection.
  if (cookies != count)
    return Bad(std::to_string(cookies) + " dircookies for " + std::to_string(count) + " dirents");
  return count;
}

Status CheckCounts(const SeenMap& seen) {
  for (const auto& [fileid, s] : seen) {
    const std::string where = "fileid " + std::to_string(fileid);
    const Inode& n = s.inode;
    if (!n.is_dir()) {
      if (n.nlink != s.links)
        return Bad(where + ": nlink " + std::to_string(n.nlink) + " but " +
                   std::to_string(s.links) + " names");
      continue;
    }
    if (n.nlink != 2 + s.subdirs) return Bad(where + ": dir nlink is not 2 + subdirs");
    if (n.size_bytes != s.entries) return Bad(where + ": dir size is not its entry count");
    const uint32_t names_expected = fileid == kRootFileId ? 0 : 1;
    if (s.links != names_expected)
      return Bad(where + ": dir named " + std::to_string(s.links) + " times");
    if (fileid == kRootFileId && n.parent != kRootFileId) return Bad("root's parent is not root");
  }
  if (seen.find(kRootFileId) == seen.end()) return Bad("no root");
  return Status::Ok();
}

// Every directory reaches the root through parent pointers: no cycle detached from the tree.
Status CheckReachable(const SeenMap& seen) {
  std::unordered_map<FileId, bool> reaches_root{{kRootFileId, true}};
  for (const auto& [fileid, s] : seen) {
    if (!s.inode.is_dir()) continue;
    std::vector<FileId> path;
    FileId cur = fileid;
    while (!reaches_root.count(cur)) {
      if (path.size() > kDirDepthMax)
        return Bad("directory " + std::to_string(fileid) + " is in a cycle");
      path.push_back(cur);
      auto it = seen.find(cur);
      if (it == seen.end() || !it->second.inode.is_dir()) return Bad("broken parent chain");
      cur = it->second.inode.parent;
    }
    for (FileId p : path) reaches_root[p] = true;
  }
  return Status::Ok();
}

Result<uint64_t> CheckExtentsAndSys(Txn& txn, const SeenMap& seen) {
  uint64_t count = 0;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kExtents, "", "");
  for (; it->Valid(); it->Next(), count++) {
    META_ASSIGN_OR_RETURN(Extent e, DecodeExtent(it->key(), it->value()));
    auto f = seen.find(e.fileid);
    if (f == seen.end() || f->second.inode.type != FileType::kReg) {
      return Bad("extent of fileid " + std::to_string(e.fileid) + " which is not a file");
    }
  }
  META_RETURN_IF_ERROR(it->status());
  META_ASSIGN_OR_RETURN(std::string next, txn.Get(Cf::kSys, kSysNextFileIdKey));
  META_ASSIGN_OR_RETURN(uint64_t next_fileid, DecodeSysU64(next));
  for (const auto& [fileid, s] : seen) {
    if (fileid >= next_fileid) return Bad("fileid " + std::to_string(fileid) + " >= next_fileid");
  }
  return count;
}

Status CheckXattr(Txn& txn, std::string_view key, std::string_view value, SeenMap* seen) {
  if (key.size() <= 8) return Bad("short xattr key");
  const FileId fileid = GetFixed64BE(key);
  const std::string_view name = key.substr(8);
  const std::string where = "xattr " + std::to_string(fileid) + "/" + std::string(name);
  auto f = seen->find(fileid);
  if (f == seen->end()) return Bad(where + ": no such inode");
  if (name.size() > kXattrNameBytesMax || name.find('\0') != std::string_view::npos) {
    return Bad(where + ": bad name");
  }
  META_ASSIGN_OR_RETURN(XattrRecord x, DecodeXattr(value));
  if (x.cookie > f->second.inode.xattr_cookies_issued) {
    return Bad(where + ": cookie not issued by the inode");
  }
  Result<std::string> by_cookie = txn.Get(Cf::kXattrCookies, XattrCookieKey(fileid, x.cookie));
  if (!by_cookie.ok()) return Bad(where + ": no xattrcookie " + std::to_string(x.cookie));
  META_ASSIGN_OR_RETURN(std::string cookie_name, DecodeXattrCookie(*by_cookie));
  if (cookie_name != name) return Bad(where + ": xattrcookie names another xattr");
  f->second.xattrs++;
  f->second.xattr_bytes += name.size() + x.value.size();
  return Status::Ok();
}

// Every xattr belongs to an inode and has its xattrcookie (a bijection, as for dirents), and
// each inode's counts are those of its records and within the per-inode bounds.
Result<uint64_t> CheckXattrs(Txn& txn, SeenMap* seen) {
  uint64_t count = 0;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kXattrs, "", "");
  for (; it->Valid(); it->Next(), count++) {
    META_RETURN_IF_ERROR(CheckXattr(txn, it->key(), it->value(), seen));
  }
  META_RETURN_IF_ERROR(it->status());
  uint64_t cookies = 0;
  std::unique_ptr<KvIterator> c = txn.NewIterator(Cf::kXattrCookies, "", "");
  for (; c->Valid(); c->Next()) cookies++;
  META_RETURN_IF_ERROR(c->status());
  if (cookies != count)
    return Bad(std::to_string(cookies) + " xattrcookies for " + std::to_string(count) + " xattrs");
  for (const auto& [fileid, s] : *seen) {
    const Inode& n = s.inode;
    if (n.xattr_count != s.xattrs || n.xattr_bytes != s.xattr_bytes) {
      return Bad("fileid " + std::to_string(fileid) + ": counts " + std::to_string(n.xattr_count) +
                 " xattrs of " + std::to_string(n.xattr_bytes) + " bytes, has " +
                 std::to_string(s.xattrs) + " of " + std::to_string(s.xattr_bytes));
    }
    if (n.xattr_count > kXattrsPerInodeMax || n.xattr_bytes > kXattrBytesPerInodeMax) {
      return Bad("fileid " + std::to_string(fileid) + ": xattrs over the per-inode bounds");
    }
  }
  return count;
}

// An orphan is a regular file with nlink 0 (so, by CheckCounts, no dirent), and a
// non-directory with nlink 0 is legal only as an orphan.
Result<uint64_t> CheckOrphans(Txn& txn, SeenMap* seen) {
  uint64_t count = 0;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kOrphans, "", "");
  for (; it->Valid(); it->Next(), count++) {
    META_ASSIGN_OR_RETURN(OrphanRecord o, DecodeOrphan(it->key(), it->value()));
    const std::string where = "orphan " + std::to_string(o.fileid);
    auto f = seen->find(o.fileid);
    if (f == seen->end()) return Bad(where + ": no such inode");
    if (f->second.inode.type != FileType::kReg) return Bad(where + ": not a regular file");
    if (f->second.inode.nlink != 0) {
      return Bad(where + ": nlink " + std::to_string(f->second.inode.nlink));
    }
    f->second.orphan = true;
  }
  META_RETURN_IF_ERROR(it->status());
  for (const auto& [fileid, s] : *seen) {
    if (!s.inode.is_dir() && s.inode.nlink == 0 && !s.orphan) {
      return Bad("fileid " + std::to_string(fileid) + ": nlink 0 but no orphans key");
    }
  }
  return count;
}

}  // namespace

Result<FsckCounts> CheckNamespace(Txn& snapshot, uint64_t inodes_max) {
  SeenMap seen;
  META_RETURN_IF_ERROR(LoadInodes(snapshot, inodes_max, &seen));
  FsckCounts counts;
  counts.inodes = seen.size();
  META_ASSIGN_OR_RETURN(counts.dirents, CheckDirents(snapshot, &seen));
  META_RETURN_IF_ERROR(CheckCounts(seen));
  META_RETURN_IF_ERROR(CheckReachable(seen));
  META_ASSIGN_OR_RETURN(counts.extents, CheckExtentsAndSys(snapshot, seen));
  META_ASSIGN_OR_RETURN(counts.xattrs, CheckXattrs(snapshot, &seen));
  META_ASSIGN_OR_RETURN(counts.orphans, CheckOrphans(snapshot, &seen));
  return counts;
}

}  // namespace manifold::meta
