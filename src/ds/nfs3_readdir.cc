// READDIR and READDIRPLUS. Cookies are the file system's own directory offsets (getdents64
// d_off), so they stay valid while other clients create and remove entries, and a listing
// never holds the directory in memory.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "ds/nfs3_program.h"
#include "ds/nfs3_util.h"

namespace manifold::ds {

namespace {

constexpr size_t kGetdentsBufferBytes = 32 * 1024;
// XDR sizes used to keep a reply within the client's count (RFC 1813 3.3.16, 3.3.17).
constexpr size_t kPostOpAttrBytes = 4 + 84;
constexpr size_t kReplyFixedBytes = kPostOpAttrBytes + NFS3_COOKIEVERFSIZE + 4 + 4;

size_t Pad4(size_t n) { return (n + 3) & ~size_t(3); }
size_t EntryBytes(size_t name_len) { return 4 + 8 + 4 + Pad4(name_len) + 8; }

struct DirEntry {
  uint64_t ino;
  uint64_t next_cookie;
  const char* name;
};

// Walks a directory from `cookie`, calling `take(entry)` until it returns false or the
// directory ends. Returns 0, or an errno; `eof` says whether the end was reached.
template <typename Take>
int WalkDir(int dir_fd, uint64_t cookie, bool& eof, Take&& take) {
  if (cookie != 0 && ::lseek(dir_fd, off_t(cookie), SEEK_SET) < 0) return errno;
  alignas(8) char buf[kGetdentsBufferBytes];
  eof = false;
  for (;;) {
    ssize_t n = ::getdents64(dir_fd, buf, sizeof(buf));
    if (n < 0) return errno;
    if (n == 0) {
      eof = true;
      return 0;
    }
    for (ssize_t pos = 0; pos < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + pos);
      pos += d->d_reclen;
      if (!take(DirEntry{d->d_ino, uint64_t(d->d_off), d->d_name})) return 0;
    }
  }
}

}  // namespace

void Nfs3Program::ReadDir(Req& r, READDIR3args& a, READDIR3res& res) {
  PathFd dir;
  struct stat dst;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.dir), dir, dst));
  if (res.status != NFS3_OK) return;
  FillPostOp(&dst, export_.fsid(), res.READDIR3res_u.resfail.dir_attributes);
  if (!S_ISDIR(dst.st_mode)) {
    res.status = NFS3ERR_NOTDIR;
    return;
  }
  if (!MayAccess(r.id, dst, kMayRead, false)) {
    res.status = NFS3ERR_ACCES;
    return;
  }
  std::string path = "/proc/self/fd/" + std::to_string(dir.get());
  BecomeRoot();  // read permission was checked above
  Fd rd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rd.valid()) {
    res.status = Nfs3StatusFromErrno(errno);
    return;
  }
  size_t budget = std::min<size_t>(a.count, options_.io_bytes_max);
  size_t used = kReplyFixedBytes;
  entry3* head = nullptr;
  entry3** tail = &head;
  size_t count = 0;
  bool eof = false;
  int err = WalkDir(rd.get(), a.cookie, eof, [&](const DirEntry& d) {
    size_t len = std::strlen(d.name);
    if (used + EntryBytes(len) > budget) return false;
    used += EntryBytes(len);
    auto* e = r.arena.Make<entry3>();
    e->fileid = d.ino;
    e->name = r.arena.CopyString({d.name, len});
    e->cookie = d.next_cookie;
    *tail = e;
    tail = &e->nextentry;
    ++count;
    return true;
  });
  if (err != 0) {
    res.status = Nfs3StatusFromErrno(err);
    return;
  }
  if (count == 0 && !eof) {
    res.status = NFS3ERR_TOOSMALL;
    return;
  }
  auto& ok = res.READDIR3res_u.resok;
  FillPostOp(&dst, export_.fsid(), ok.dir_attributes);
  std::memset(ok.cookieverf, 0, NFS3_COOKIEVERFSIZE);  // cookies never expire: no verifier
  ok.reply.entries = head;
  ok.reply.eof = eof;
}

void Nfs3Program::ReadDirPlus(Req& r, READDIRPLUS3args& a, READDIRPLUS3res& res) {
  PathFd dir;
  struct stat dst;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.dir), dir, dst));
  if (res.status != NFS3_OK) return;
  FillPostOp(&dst, export_.fsid(), res.READDIRPLUS3res_u.resfail.dir_attributes);
  if (!S_ISDIR(dst.st_mode)) {
    res.status = NFS3ERR_NOTDIR;
    return;
  }
  if (!MayAccess(r.id, dst, kMayRead, false)) {
    res.status = NFS3ERR_ACCES;
    return;
  }
  std::string path = "/proc/self/fd/" + std::to_string(dir.get());
  BecomeRoot();  // read permission was checked above
  Fd rd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rd.valid()) {
    res.status = Nfs3StatusFromErrno(errno);
    return;
  }
  size_t max_bytes = std::min<size_t>(a.maxcount, options_.io_bytes_max);
  size_t used = kReplyFixedBytes;
  size_t dir_bytes = 0;
  entryplus3* head = nullptr;
  entryplus3** tail = &head;
  size_t count = 0;
  bool eof = false;
  // Attributes and handles of entries are looked up as the caller: without search
  // permission on the directory the entries come back bare, as from a local readdir.
  const bool at_root = export_.IsRoot(dst);
  BecomeCaller(r.id);
  int err = WalkDir(rd.get(), a.cookie, eof, [&](const DirEntry& d) {
    size_t len = std::strlen(d.name);
    struct stat st;
    Result<FileHandle> fh = Status(Code::kNotFound, "");
    // ".." of the export root lies outside the export: bare, as knfsd gives it. Any other
    // ".." is a directory of the export, and its type is what a client lists (d_type).
    bool outside = at_root && std::strcmp(d.name, "..") == 0;
    bool have_attrs = !outside && ::fstatat(dir.get(), d.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (have_attrs) fh = export_.HandleAt(dir.get(), d.name);
    size_t bytes = EntryBytes(len) + 4 + (have_attrs ? 84 : 0) + 4 +
                   (fh.ok() ? 4 + Pad4(fh->size()) : 0);
    if (used + bytes > max_bytes || dir_bytes + EntryBytes(len) > a.dircount) return false;
    used += bytes;
    dir_bytes += EntryBytes(len);
    auto* e = r.arena.Make<entryplus3>();
    e->fileid = d.ino;
    e->name = r.arena.CopyString({d.name, len});
    e->cookie = d.next_cookie;
    FillPostOp(have_attrs ? &st : nullptr, export_.fsid(), e->name_attributes);
    if (fh.ok()) FillPostOpFh(*fh, r.arena, e->name_handle);
    *tail = e;
    tail = &e->nextentry;
    ++count;
    return true;
  });
  if (err != 0) {
    res.status = Nfs3StatusFromErrno(err);
    return;
  }
  if (count == 0 && !eof) {
    res.status = NFS3ERR_TOOSMALL;
    return;
  }
  auto& ok = res.READDIRPLUS3res_u.resok;
  FillPostOp(&dst, export_.fsid(), ok.dir_attributes);
  std::memset(ok.cookieverf, 0, NFS3_COOKIEVERFSIZE);
  ok.reply.entries = head;
  ok.reply.eof = eof;
}

}  // namespace manifold::ds
