// Nfs4Client's helpers for common flows: each is one compound (Readdir: one per page).
#include <algorithm>
#include <cstring>

#include "nfs4client/names.h"
#include "nfs4client/session.h"

namespace manifold::nfs4client {

Code CodeForNfs4Stat(nfsstat4 status) {
  // clang-format off
  switch (status) {
    case NFS4_OK: return Code::kOk;
    case NFS4ERR_NOENT: case NFS4ERR_NOXATTR: return Code::kNotFound;
    case NFS4ERR_EXIST: return Code::kExists;
    case NFS4ERR_NOTDIR: return Code::kNotDir;
    case NFS4ERR_ISDIR: return Code::kIsDir;
    case NFS4ERR_NOTEMPTY: return Code::kNotEmpty;
    case NFS4ERR_STALE: case NFS4ERR_FHEXPIRED: return Code::kStale;
    case NFS4ERR_NAMETOOLONG: case NFS4ERR_FBIG: case NFS4ERR_TOOSMALL: case NFS4ERR_XATTR2BIG:
      return Code::kTooBig;
    case NFS4ERR_NOSPC: case NFS4ERR_DQUOT: return Code::kNoSpace;
    case NFS4ERR_PERM: case NFS4ERR_ACCESS: case NFS4ERR_ROFS: case NFS4ERR_WRONGSEC:
      return Code::kPermission;
    case NFS4ERR_DENIED: case NFS4ERR_SHARE_DENIED: case NFS4ERR_LOCKED:
    case NFS4ERR_LOCKS_HELD: case NFS4ERR_OPENMODE: case NFS4ERR_NOT_SAME: case NFS4ERR_SAME:
      return Code::kConflict;
    case NFS4ERR_DELAY: case NFS4ERR_GRACE: case NFS4ERR_LAYOUTTRYLATER:
    case NFS4ERR_LAYOUTUNAVAILABLE: case NFS4ERR_BADSESSION: case NFS4ERR_DEADSESSION:
    case NFS4ERR_EXPIRED: case NFS4ERR_STALE_CLIENTID:
      return Code::kUnavailable;
    case NFS4ERR_INVAL: case NFS4ERR_BADXDR: case NFS4ERR_BADNAME: case NFS4ERR_BADCHAR:
    case NFS4ERR_NOTSUPP: case NFS4ERR_ATTRNOTSUPP: case NFS4ERR_BAD_STATEID:
    case NFS4ERR_OLD_STATEID: case NFS4ERR_BADHANDLE: case NFS4ERR_NOFILEHANDLE:
      return Code::kInvalid;
    case NFS4ERR_IO: case NFS4ERR_NXIO: return Code::kIo;
    default: return Code::kInternal;
  }
  // clang-format on
}

Status CompoundStatus(const CompoundResult& r, std::string_view what) {
  nfsstat4 s = r.FirstError();
  if (s == NFS4_OK) return Status::Ok();
  return Status(CodeForNfs4Stat(s),
                std::string(what) + ": " + Nfs4StatName(s) + " [" + r.Describe() + "]");
}

namespace {

// Runs `c` and turns a failed compound into an error Status.
Result<CompoundResult> RunOk(Nfs4Client& client, const CompoundBuilder& c, std::string_view what) {
  auto r = client.Run(c);
  if (!r.ok()) return r.status();
  if (!r->ok()) return CompoundStatus(*r, what);
  return r;
}

}  // namespace

Result<FileHandle> Nfs4Client::LookupPath(std::string_view path) {
  CompoundBuilder c("lookup_path");
  c.PutRootFh();
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) c.Lookup(path.substr(pos, end - pos));
    pos = end + 1;
  }
  c.GetFh();
  auto r = RunOk(*this, c, "LookupPath " + std::string(path));
  if (!r.ok()) return r.status();
  return r->Fh();
}

Result<Attrs> Nfs4Client::GetAttr(const FileHandle& fh, const Bitmap& attrs) {
  CompoundBuilder c("getattr");
  c.PutFh(fh).GetAttr(attrs);
  auto r = RunOk(*this, c, "GetAttr");
  if (!r.ok()) return r.status();
  return *r->Attributes();
}

Result<FileHandle> Nfs4Client::Mkdir(const FileHandle& dir, std::string_view name, uint32_t mode) {
  CompoundBuilder c("mkdir");
  c.PutFh(dir).CreateDir(name, AttrSet{.mode = mode}).GetFh();
  auto r = RunOk(*this, c, "Mkdir " + std::string(name));
  if (!r.ok()) return r.status();
  return r->Fh();
}

namespace {

Result<OpenFile> RunOpen(Nfs4Client& client, const FileHandle& dir, const OpenArgs& a,
                         std::string_view what) {
  CompoundBuilder c("open");
  c.PutFh(dir).Open(a).GetFh();
  auto r = RunOk(client, c, what);
  if (!r.ok()) return r.status();
  OpenFile f;
  f.fh = r->Fh();
  f.stateid = r->Open()->stateid;
  return f;
}

}  // namespace

Result<OpenFile> Nfs4Client::OpenCreate(const FileHandle& dir, std::string_view name,
                                        uint32_t mode) {
  return RunOpen(*this, dir, OpenArgs::Create(open_owner(), std::string(name), {.mode = mode}),
                 "OpenCreate " + std::string(name));
}

Result<OpenFile> Nfs4Client::Open(const FileHandle& dir, std::string_view name,
                                  uint32_t share_access) {
  return RunOpen(*this, dir, OpenArgs::Existing(open_owner(), std::string(name), share_access),
                 "Open " + std::string(name));
}

Result<uint32_t> Nfs4Client::Write(const OpenFile& f, uint64_t offset,
                                   std::span<const uint8_t> data, stable_how4 stable) {
  CompoundBuilder c("write");
  c.PutFh(f.fh).Write(f.stateid, offset, data, stable);
  auto r = RunOk(*this, c, "Write");
  if (!r.ok()) return r.status();
  return r->Write()->count;
}

Result<ReadResult> Nfs4Client::Read(const OpenFile& f, uint64_t offset, uint32_t count) {
  CompoundBuilder c("read");
  c.PutFh(f.fh).Read(f.stateid, offset, count);
  auto r = RunOk(*this, c, "Read");
  if (!r.ok()) return r.status();
  return ReadResult{r->ReadData(), bool(r->Read()->eof)};
}

Result<seek_res4> Nfs4Client::Seek(const OpenFile& f, uint64_t offset, data_content4 what) {
  CompoundBuilder c("seek");
  c.PutFh(f.fh).Seek(f.stateid, offset, what);
  auto r = RunOk(*this, c, "Seek");
  if (!r.ok()) return r.status();
  return *r->Seek();
}

Result<ReadResult> Nfs4Client::ReadPlus(const OpenFile& f, uint64_t offset, uint32_t count) {
  CompoundBuilder c("read_plus");
  c.PutFh(f.fh).ReadPlus(f.stateid, offset, count);
  auto r = RunOk(*this, c, "ReadPlus");
  if (!r.ok()) return r.status();
  const read_plus_res4* res = r->ReadPlus();
  ReadResult out;
  out.eof = res->rpr_eof;
  uint64_t next = offset;  // segments come in offset order and do not overlap
  for (u_int i = 0; i < res->rpr_contents.rpr_contents_len; ++i) {
    const read_plus_content& seg = res->rpr_contents.rpr_contents_val[i];
    uint64_t at = 0, length = 0;
    const char* bytes = nullptr;
    if (seg.rpc_content == NFS4_CONTENT_DATA) {
      at = seg.read_plus_content_u.rpc_data.d_offset;
      length = seg.read_plus_content_u.rpc_data.d_data.d_data_len;
      bytes = seg.read_plus_content_u.rpc_data.d_data.d_data_val;
    } else if (seg.rpc_content == NFS4_CONTENT_HOLE) {
      at = seg.read_plus_content_u.rpc_hole.di_offset;
      length = seg.read_plus_content_u.rpc_hole.di_length;
    } else {
      return Status(Code::kCorruption, "ReadPlus: unknown segment type");
    }
    if (at < next || at - offset >= count) {
      return Status(Code::kCorruption, "ReadPlus: segment at " + std::to_string(at) +
                                           " out of order or outside the request");
    }
    const uint64_t room = offset + count - at;
    if (bytes != nullptr && length > room) {
      return Status(Code::kCorruption, "ReadPlus: more data than asked for");
    }
    length = std::min(length, room);  // a hole may run past the request
    out.data.resize(at + length - offset, 0);
    if (bytes != nullptr) std::memcpy(out.data.data() + (at - offset), bytes, length);
    next = at + length;
  }
  return out;
}

Status Nfs4Client::Allocate(const OpenFile& f, uint64_t offset, uint64_t length) {
  CompoundBuilder c("allocate");
  c.PutFh(f.fh).Allocate(f.stateid, offset, length);
  return RunOk(*this, c, "Allocate").status();
}

Status Nfs4Client::Deallocate(const OpenFile& f, uint64_t offset, uint64_t length) {
  CompoundBuilder c("deallocate");
  c.PutFh(f.fh).Deallocate(f.stateid, offset, length);
  return RunOk(*this, c, "Deallocate").status();
}

Status Nfs4Client::Close(OpenFile& f) {
  CompoundBuilder c("close");
  c.PutFh(f.fh);
  // RFC 8881 8.2.4: a lock stateid with no locks left is freed with FREE_STATEID.
  if (f.lock_stateid) c.FreeStateid(*f.lock_stateid);
  c.Close(f.stateid);
  auto r = RunOk(*this, c, "Close");
  if (!r.ok()) return r.status();
  f.lock_stateid.reset();
  return Status::Ok();
}

Status Nfs4Client::Remove(const FileHandle& dir, std::string_view name) {
  CompoundBuilder c("remove");
  c.PutFh(dir).Remove(name);
  return RunOk(*this, c, "Remove " + std::string(name)).status();
}

Status Nfs4Client::Rename(const FileHandle& src_dir, std::string_view oldname,
                          const FileHandle& dst_dir, std::string_view newname) {
  CompoundBuilder c("rename");
  c.PutFh(src_dir).SaveFh().PutFh(dst_dir).Rename(oldname, newname);
  return RunOk(*this, c, "Rename " + std::string(oldname)).status();
}

Result<std::vector<DirEntry>> Nfs4Client::Readdir(const FileHandle& dir, const Bitmap& attrs,
                                                  size_t entries_max) {
  std::vector<DirEntry> out;
  ReaddirArgs a;
  a.attrs = attrs.empty() ? MakeBitmap({FATTR4_TYPE, FATTR4_FILEID}) : attrs;
  for (;;) {
    CompoundBuilder c("readdir");
    c.PutFh(dir).Readdir(a);
    auto r = RunOk(*this, c, "Readdir");
    if (!r.ok()) return r.status();
    std::vector<DirEntry> page = r->Entries();
    const READDIR4resok* ok = r->Readdir();
    bool eof = ok->reply.eof;
    if (page.empty() && !eof) return Status(Code::kLimit, "Readdir: a page with no entries");
    if (out.size() + page.size() > entries_max) {
      return Status(Code::kLimit, "Readdir: more than " + std::to_string(entries_max));
    }
    std::memcpy(a.cookieverf.data(), ok->cookieverf, a.cookieverf.size());
    if (!page.empty()) a.cookie = page.back().cookie;
    for (auto& e : page) out.push_back(std::move(e));
    if (eof) return out;
  }
}

Result<std::vector<uint8_t>> Nfs4Client::GetXattr(const FileHandle& fh, std::string_view name) {
  CompoundBuilder c("getxattr");
  c.PutFh(fh).GetXattr(name);
  auto r = RunOk(*this, c, "GetXattr " + std::string(name));
  if (!r.ok()) return r.status();
  const xattrvalue4* v = r->GetXattr();
  const auto* bytes = reinterpret_cast<const uint8_t*>(v->xattrvalue4_val);
  return std::vector<uint8_t>(bytes, bytes + v->xattrvalue4_len);
}

Result<change_info4> Nfs4Client::SetXattr(const FileHandle& fh, std::string_view name,
                                          std::span<const uint8_t> value,
                                          setxattr_option4 option) {
  CompoundBuilder c("setxattr");
  c.PutFh(fh).SetXattr(name, value, option);
  auto r = RunOk(*this, c, "SetXattr " + std::string(name));
  if (!r.ok()) return r.status();
  return *r->SetXattr();
}

Result<change_info4> Nfs4Client::RemoveXattr(const FileHandle& fh, std::string_view name) {
  CompoundBuilder c("removexattr");
  c.PutFh(fh).RemoveXattr(name);
  auto r = RunOk(*this, c, "RemoveXattr " + std::string(name));
  if (!r.ok()) return r.status();
  return *r->RemoveXattr();
}

Result<std::vector<std::string>> Nfs4Client::ListXattrs(const FileHandle& fh, uint32_t maxcount,
                                                        size_t names_max) {
  std::vector<std::string> out;
  nfs_cookie4 cookie = 0;
  for (;;) {
    CompoundBuilder c("listxattrs");
    c.PutFh(fh).ListXattrs(cookie, maxcount);
    auto r = RunOk(*this, c, "ListXattrs");
    if (!r.ok()) return r.status();
    const LISTXATTRS4resok* ok = r->ListXattrs();
    const u_int n = ok->lxr_names.lxr_names_len;
    if (n == 0 && !ok->lxr_eof) return Status(Code::kLimit, "ListXattrs: a page with no names");
    if (out.size() + n > names_max) {
      return Status(Code::kLimit, "ListXattrs: more than " + std::to_string(names_max));
    }
    for (u_int i = 0; i < n; ++i) {
      const xattrkey4& k = ok->lxr_names.lxr_names_val[i];
      out.emplace_back(k.utf8string_val, k.utf8string_len);
    }
    if (ok->lxr_eof) return out;
    cookie = ok->lxr_cookie;
  }
}

Result<stateid4> Nfs4Client::Lock(OpenFile& f, nfs_lock_type4 type, uint64_t offset,
                                  uint64_t length) {
  CompoundBuilder c("lock");
  c.PutFh(f.fh);
  if (f.lock_stateid) {
    c.LockExisting(type, offset, length, *f.lock_stateid);
  } else {
    if (f.lock_owner.owner.empty()) f.lock_owner = NewLockOwner();
    c.LockNew(type, offset, length, f.stateid, f.lock_owner);
  }
  auto r = RunOk(*this, c, "Lock");
  if (!r.ok()) return r.status();
  f.lock_stateid = r->Lock()->lock_stateid;
  return *f.lock_stateid;
}

Status Nfs4Client::Unlock(OpenFile& f, uint64_t offset, uint64_t length) {
  if (!f.lock_stateid) return Status(Code::kInvalid, "Unlock: the file holds no lock stateid");
  CompoundBuilder c("unlock");
  c.PutFh(f.fh).LockU(WRITE_LT, *f.lock_stateid, offset, length);
  auto r = RunOk(*this, c, "Unlock");
  if (!r.ok()) return r.status();
  f.lock_stateid = *r->LockU();
  return Status::Ok();
}

}  // namespace manifold::nfs4client
