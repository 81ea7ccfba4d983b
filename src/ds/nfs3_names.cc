// Procedures on directory entries: LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR,
// RENAME, LINK. Each resolves its handles as root, then changes the namespace with the
// caller's identity (BecomeCaller) so the kernel enforces directory permissions and sticky bits.
#include <fcntl.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "ds/nfs3_program.h"
#include "ds/nfs3_util.h"

namespace manifold::ds {

namespace {

// Resolves a directory handle for a namespace change; fills the pre-op half of `wcc`.
nfsstat3 OpenDir(Export& exp, const nfs_fh3& fh, PathFd& fd, struct stat& st, wcc_data* wcc) {
  nfsstat3 s = Nfs3StatusFromHandle(exp.Resolve(HandleBytes(fh), fd, st));
  if (s != NFS3_OK) return s;
  if (wcc) {
    FillPreOp(st, wcc->before);
    FillPostOp(&st, exp.fsid(), wcc->after);
  }
  return S_ISDIR(st.st_mode) ? NFS3_OK : NFS3ERR_NOTDIR;
}

void FinishWcc(Export& exp, int dir_fd, wcc_data& wcc) {
  FillPostOpFd(dir_fd, exp.fsid(), wcc.after);
}

// An EXCLUSIVE create's verifier, kept as the new file's atime and mtime seconds. Each half
// loses its top bit (as knfsd's do): a file system with 32-bit signed times would clamp larger
// values, and the client's retry would then find another verifier.
std::array<time_t, 2> ExclusiveVerifierTimes(const char* verf) {
  uint32_t v[2];
  std::memcpy(v, verf, sizeof(v));
  return {time_t(v[0] & 0x7fffffffu), time_t(v[1] & 0x7fffffffu)};
}

// Whether a create's attributes ask for anything besides the mode (applied at creation).
bool SetsMoreThanMode(const sattr3& s) {
  return s.uid.set_it || s.gid.set_it || s.size.set_it || s.atime.set_it != DONT_CHANGE ||
         s.mtime.set_it != DONT_CHANGE;
}

}  // namespace

void Nfs3Program::Lookup(Req& r, LOOKUP3args& a, LOOKUP3res& res) {
  PathFd dir;
  struct stat dst;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.what.dir), dir, dst));
  if (res.status != NFS3_OK) return;
  FillPostOp(&dst, export_.fsid(), res.LOOKUP3res_u.resfail.dir_attributes);
  if (!S_ISDIR(dst.st_mode)) {
    res.status = NFS3ERR_NOTDIR;
    return;
  }
  const char* name = a.what.name;
  if (name[0] == '\0' || std::strchr(name, '/') != nullptr) {
    res.status = NFS3ERR_NOENT;
    return;
  }
  // ".." of the export root is the root itself: a client never climbs out of the export.
  if (std::strcmp(name, "..") == 0 && export_.IsRoot(dst)) name = ".";
  BecomeCaller(r.id);
  struct stat st;
  if (::fstatat(dir.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    res.status = Nfs3StatusFromErrno(errno);
    return;
  }
  auto fh = export_.HandleAt(dir.get(), name);
  if (!fh.ok()) {
    res.status = fh.status().code() == Code::kPermission ? NFS3ERR_ACCES : NFS3ERR_IO;
    return;
  }
  auto& ok = res.LOOKUP3res_u.resok;
  FillHandle(*fh, r.arena, ok.object);
  FillPostOp(&st, export_.fsid(), ok.obj_attributes);
  FillPostOp(&dst, export_.fsid(), ok.dir_attributes);
}

nfsstat3 Nfs3Program::NewObjectResult(Req& r, int dir_fd, const char* name, post_op_fh3& fh,
                                      post_op_attr& attrs) {
  Fd obj(::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!obj.valid() || ::fstat(obj.get(), &st) != 0) return Nfs3StatusFromErrno(errno);
  auto handle = export_.HandleOf(obj.get());
  if (!handle.ok()) return NFS3ERR_IO;
  // The directory's fsync alone need not write the new inode (ext4 without a journal does
  // not): sync the object too.
  nfsstat3 s = SyncFd(obj.get(), st, false);
  if (s != NFS3_OK) return s;
  FillPostOpFh(*handle, r.arena, fh);
  FillPostOp(&st, export_.fsid(), attrs);
  return NFS3_OK;
}

void Nfs3Program::Create(Req& r, CREATE3args& a, CREATE3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.CREATE3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.where.dir, dir, dst, &wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.where.name);
  if (res.status != NFS3_OK) return;
  const char* name = a.where.name;
  const createhow3& how = a.how;
  bool exclusive = how.mode == EXCLUSIVE;
  const sattr3* attrs = exclusive ? nullptr : &how.createhow3_u.obj_attributes;
  if (attrs && CheckSattr(*attrs) != NFS3_OK) {
    res.status = NFS3ERR_INVAL;
    return;
  }
  mode_t mode = attrs && attrs->mode.set_it ? (attrs->mode.set_mode3_u.mode & 07777) : 0644;
  {
    BecomeCaller(r.id);
    if (::mknodat(dir.get(), name, S_IFREG | mode, 0) != 0) {
      int err = errno;
      struct stat est;
      bool exists = err == EEXIST && ::fstatat(dir.get(), name, &est, AT_SYMLINK_NOFOLLOW) == 0;
      if (!exists) {
        res.status = Nfs3StatusFromErrno(err);
      } else if (how.mode == GUARDED) {
        res.status = NFS3ERR_EXIST;
      } else if (exclusive) {
        // RFC 1813 3.3.8: a retried EXCLUSIVE create with the same verifier succeeds.
        const auto v = ExclusiveVerifierTimes(how.createhow3_u.verf);
        bool same = S_ISREG(est.st_mode) && est.st_atim.tv_sec == v[0] &&
                    est.st_mtim.tv_sec == v[1];
        res.status = same ? NFS3_OK : NFS3ERR_EXIST;
      } else if (!S_ISREG(est.st_mode)) {
        res.status = S_ISDIR(est.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_EXIST;
      }
      if (res.status != NFS3_OK) {
        FinishWcc(export_, dir.get(), wcc);
        return;
      }
    } else if (exclusive) {
      // Keep the verifier in atime/mtime (as other servers do) until the client's SETATTR: a
      // retry must find it, or it gets NFS3ERR_EXIST for its own file.
      const auto v = ExclusiveVerifierTimes(how.createhow3_u.verf);
      struct timespec ts[2] = {{v[0], 0}, {v[1], 0}};
      if (::utimensat(dir.get(), name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
        res.status = Nfs3StatusFromErrno(errno);
        if (::unlinkat(dir.get(), name, 0) != 0) {  // made by this call: no one else's file
          spdlog::warn("nfs3 {}: EXCLUSIVE create of '{}' failed and left the file: {}",
                       r.ctx.peer, name, std::strerror(errno));
        }
        FinishWcc(export_, dir.get(), wcc);
        return;
      }
    }
  }
  if (attrs && SetsMoreThanMode(*attrs)) {
    Fd obj(::openat(dir.get(), name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat ost;
    if (!obj.valid() || ::fstat(obj.get(), &ost) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
      FinishWcc(export_, dir.get(), wcc);
      return;
    }
    sattr3 rest = *attrs;
    rest.mode.set_it = FALSE;  // applied at creation
    res.status = ApplySattr(r, obj.get(), ost, rest);
  }
  auto& ok = res.CREATE3res_u.resok;
  if (res.status == NFS3_OK) res.status = NewObjectResult(r, dir.get(), name, ok.obj, ok.obj_attributes);
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  // resok and resfail share memory: fill whichever arm the status selects, completely.
  wcc_data& out_wcc = res.status == NFS3_OK ? ok.dir_wcc : wcc;
  FillPreOp(dst, out_wcc.before);
  FinishWcc(export_, dir.get(), out_wcc);
}

void Nfs3Program::MkDir(Req& r, MKDIR3args& a, MKDIR3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.MKDIR3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.where.dir, dir, dst, &wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.where.name);
  if (res.status != NFS3_OK) return;
  const sattr3& s = a.attributes;
  if (CheckSattr(s) != NFS3_OK) {
    res.status = NFS3ERR_INVAL;
    return;
  }
  mode_t mode = s.mode.set_it ? (s.mode.set_mode3_u.mode & 07777) : 0755;
  {
    BecomeCaller(r.id);
    if (::mkdirat(dir.get(), a.where.name, mode) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
      FinishWcc(export_, dir.get(), wcc);
      return;
    }
  }
  Fd obj(::openat(dir.get(), a.where.name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat ost;
  if (obj.valid() && ::fstat(obj.get(), &ost) == 0) {
    sattr3 rest = s;
    rest.mode.set_it = FALSE;
    res.status = ApplySattr(r, obj.get(), ost, rest);
  }
  auto& ok = res.MKDIR3res_u.resok;
  if (res.status == NFS3_OK) {
    res.status = NewObjectResult(r, dir.get(), a.where.name, ok.obj, ok.obj_attributes);
  }
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  // resok and resfail share memory: fill whichever arm the status selects, completely.
  wcc_data& out_wcc = res.status == NFS3_OK ? ok.dir_wcc : wcc;
  FillPreOp(dst, out_wcc.before);
  FinishWcc(export_, dir.get(), out_wcc);
}

void Nfs3Program::Symlink(Req& r, SYMLINK3args& a, SYMLINK3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.SYMLINK3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.where.dir, dir, dst, &wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.where.name);
  if (res.status == NFS3_OK && a.symlink.symlink_data[0] == '\0') res.status = NFS3ERR_INVAL;
  if (res.status != NFS3_OK) return;
  {
    BecomeCaller(r.id);
    if (::symlinkat(a.symlink.symlink_data, dir.get(), a.where.name) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
      FinishWcc(export_, dir.get(), wcc);
      return;
    }
  }
  auto& ok = res.SYMLINK3res_u.resok;
  res.status = NewObjectResult(r, dir.get(), a.where.name, ok.obj, ok.obj_attributes);
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  // resok and resfail share memory: fill whichever arm the status selects, completely.
  wcc_data& out_wcc = res.status == NFS3_OK ? ok.dir_wcc : wcc;
  FillPreOp(dst, out_wcc.before);
  FinishWcc(export_, dir.get(), out_wcc);
}

void Nfs3Program::MkNod(Req& r, MKNOD3args& a, MKNOD3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.MKNOD3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.where.dir, dir, dst, &wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.where.name);
  if (res.status != NFS3_OK) return;
  mode_t type;
  dev_t dev = 0;
  const sattr3* s;
  uint32_t what = RawEnum(a.what.type);  // mknoddata3 has a default arm: any value decodes
  switch (what) {
    case NF3CHR:
    case NF3BLK:
      type = what == NF3CHR ? S_IFCHR : S_IFBLK;
      dev = makedev(a.what.mknoddata3_u.device.spec.specdata1,
                    a.what.mknoddata3_u.device.spec.specdata2);
      s = &a.what.mknoddata3_u.device.dev_attributes;
      break;
    case NF3SOCK:
    case NF3FIFO:
      type = what == NF3SOCK ? S_IFSOCK : S_IFIFO;
      s = &a.what.mknoddata3_u.pipe_attributes;
      break;
    default:
      res.status = NFS3ERR_BADTYPE;  // RFC 1813 3.3.11: regular files, dirs, links are not MKNOD's
      return;
  }
  if (CheckSattr(*s) != NFS3_OK) {
    res.status = NFS3ERR_INVAL;
    return;
  }
  mode_t mode = s->mode.set_it ? (s->mode.set_mode3_u.mode & 07777) : 0644;
  {
    BecomeCaller(r.id);
    if (::mknodat(dir.get(), a.where.name, type | mode, dev) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
      FinishWcc(export_, dir.get(), wcc);
      return;
    }
  }
  auto& ok = res.MKNOD3res_u.resok;
  res.status = NewObjectResult(r, dir.get(), a.where.name, ok.obj, ok.obj_attributes);
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  // resok and resfail share memory: fill whichever arm the status selects, completely.
  wcc_data& out_wcc = res.status == NFS3_OK ? ok.dir_wcc : wcc;
  FillPreOp(dst, out_wcc.before);
  FinishWcc(export_, dir.get(), out_wcc);
}

void Nfs3Program::Remove(Req& r, REMOVE3args& a, REMOVE3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.REMOVE3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.object.dir, dir, dst, &wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.object.name);
  if (res.status == NFS3ERR_EXIST) res.status = NFS3ERR_INVAL;  // "." or ".."
  if (res.status != NFS3_OK) return;
  {
    BecomeCaller(r.id);
    auto victim = export_.HandleAt(dir.get(), a.object.name);
    if (::unlinkat(dir.get(), a.object.name, 0) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
    } else if (victim.ok()) {
      export_.Forget(*victim);
    }
  }
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  FinishWcc(export_, dir.get(), wcc);
  if (res.status == NFS3_OK) res.REMOVE3res_u.resok.dir_wcc = wcc;
}

void Nfs3Program::RmDir(Req& r, RMDIR3args& a, RMDIR3res& res) {
  PathFd dir;
  struct stat dst;
  auto& wcc = res.RMDIR3res_u.resfail.dir_wcc;
  res.status = OpenDir(export_, a.object.dir, dir, dst, &wcc);
  if (res.status != NFS3_OK) return;
  const char* name = a.object.name;
  if (std::strcmp(name, ".") == 0) {
    res.status = NFS3ERR_INVAL;
  } else if (std::strcmp(name, "..") == 0) {
    res.status = NFS3ERR_EXIST;
  } else {
    res.status = CheckNewName(name);
  }
  if (res.status != NFS3_OK) return;
  {
    BecomeCaller(r.id);
    if (::unlinkat(dir.get(), name, AT_REMOVEDIR) != 0) res.status = Nfs3StatusFromErrno(errno);
  }
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  FinishWcc(export_, dir.get(), wcc);
  if (res.status == NFS3_OK) res.RMDIR3res_u.resok.dir_wcc = wcc;
}

void Nfs3Program::Rename(Req& r, RENAME3args& a, RENAME3res& res) {
  PathFd from_dir, to_dir;
  struct stat fst, tst;
  auto& fail = res.RENAME3res_u.resfail;
  res.status = OpenDir(export_, a.from.dir, from_dir, fst, &fail.fromdir_wcc);
  if (res.status != NFS3_OK) return;
  res.status = OpenDir(export_, a.to.dir, to_dir, tst, &fail.todir_wcc);
  if (res.status != NFS3_OK) return;
  res.status = CheckNewName(a.from.name);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.to.name);
  if (res.status == NFS3ERR_EXIST) res.status = NFS3ERR_INVAL;
  if (res.status != NFS3_OK) return;
  {
    BecomeCaller(r.id);
    auto replaced = export_.HandleAt(to_dir.get(), a.to.name);
    if (::renameat(from_dir.get(), a.from.name, to_dir.get(), a.to.name) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
    } else if (replaced.ok()) {
      export_.Forget(*replaced);
    }
  }
  if (res.status == NFS3_OK) res.status = SyncObject(to_dir, tst);
  if (res.status == NFS3_OK && fst.st_ino != tst.st_ino) res.status = SyncObject(from_dir, fst);
  FinishWcc(export_, from_dir.get(), fail.fromdir_wcc);
  FinishWcc(export_, to_dir.get(), fail.todir_wcc);
  if (res.status == NFS3_OK) {
    auto fw = fail.fromdir_wcc, tw = fail.todir_wcc;
    res.RENAME3res_u.resok.fromdir_wcc = fw;
    res.RENAME3res_u.resok.todir_wcc = tw;
  }
}

void Nfs3Program::Link(Req& r, LINK3args& a, LINK3res& res) {
  PathFd file, dir;
  struct stat st, dst;
  auto& fail = res.LINK3res_u.resfail;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.file), file, st));
  if (res.status != NFS3_OK) return;
  FillPostOp(&st, export_.fsid(), fail.file_attributes);
  res.status = OpenDir(export_, a.link.dir, dir, dst, &fail.linkdir_wcc);
  if (res.status == NFS3_OK) res.status = CheckNewName(a.link.name);
  if (res.status == NFS3_OK && S_ISDIR(st.st_mode)) res.status = NFS3ERR_ISDIR;
  if (res.status != NFS3_OK) return;
  {
    BecomeCaller(r.id);
    // linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc path is the unprivileged
    // way to link an open file, and the kernel checks the caller's rights on the directory.
    // knfsd links with vfs_link, which fs.protected_hardlinks does not cover; that rule is the
    // linkat system call's, and CAP_FOWNER passes it. Raised for this call alone, it bears on
    // nothing else linkat checks: the directory's permission is still the caller's.
    std::string src = "/proc/self/fd/" + std::to_string(file.get());
    CapabilityScope fowner(CAP_FOWNER);
    if (::linkat(AT_FDCWD, src.c_str(), dir.get(), a.link.name, AT_SYMLINK_FOLLOW) != 0) {
      res.status = Nfs3StatusFromErrno(errno);
    }
  }
  if (res.status == NFS3_OK) res.status = SyncObject(file, st);  // its link count
  if (res.status == NFS3_OK) res.status = SyncObject(dir, dst);
  FillPostOpFd(file.get(), export_.fsid(), fail.file_attributes);
  FinishWcc(export_, dir.get(), fail.linkdir_wcc);
  if (res.status == NFS3_OK) {
    auto fa = fail.file_attributes;
    auto lw = fail.linkdir_wcc;
    res.LINK3res_u.resok.file_attributes = fa;
    res.LINK3res_u.resok.linkdir_wcc = lw;
  }
}

}  // namespace manifold::ds
