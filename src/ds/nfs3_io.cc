// READ, WRITE, COMMIT and SETATTR: procedures on a file's data and attributes.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "ds/nfs3_program.h"
#include "common/check.h"
#include "ds/nfs3_util.h"
#include "rpc/xdr_codec.h"

namespace manifold::ds {

namespace {

// Why a file's descriptor was opened read-only (Export::IoFd), for a WRITE it refuses: an
// immutable or append-only file refuses even root (NFS3ERR_PERM, as knfsd answers); otherwise
// the file system is read-only or the file a running binary (NFS3ERR_ROFS).
nfsstat3 ReadOnlyWriteStatus(int fd) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
    return NFS3ERR_PERM;
  }
  return NFS3ERR_ROFS;
}

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// READ needs read permission, or execute permission so that a client can run a binary
// (RFC 1813 4.4: servers let execute-only files be read).
bool MayRead(const Identity& id, const struct stat& st) {
  return MayAccess(id, st, kMayRead, true) || MayAccess(id, st, kMayExec, false);
}

// A write or truncate by a caller without privilege drops the set-id bits, as write(2) and
// truncate(2) do on Linux (file_remove_privs). The server does I/O as itself, so the kernel
// would keep them.
// The server decides (write(2)'s rule) and changes the mode as root: the thread may still act
// as whichever caller it served last (identity switching is lazy).
nfsstat3 DropSetIdBits(const Identity& id, int fd, const struct stat& st) {
  const mode_t kept = WithoutSetIdBits(st.st_mode);
  if (id.is_root() || kept == st.st_mode) return NFS3_OK;
  BecomeRoot();
  return ::fchmod(fd, kept & 07777) == 0 ? NFS3_OK : Nfs3StatusFromErrno(errno);
}

nfsstat3 IoTypeError(const struct stat& st) {
  return S_ISDIR(st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
}

}  // namespace

rpc::AcceptStat Nfs3Program::ReadInto(Req& r, std::span<const uint8_t> args,
                                      std::vector<uint8_t>& out) {
  rpc::XdrDecoded<READ3args> a{xdrproc_t(xdr_READ3args)};
  if (!a.Decode(args)) return rpc::AcceptStat::kGarbageArgs;
  std::shared_ptr<Fd> fd;
  struct stat st;
  READ3res res;
  std::memset(&res, 0, sizeof(res));
  res.status = Nfs3StatusFromHandle(export_.OpenForIo(HandleBytes(a->file), fd, st));
  if (res.status == NFS3_OK) {
    FillPostOp(&st, export_.fsid(), res.READ3res_u.resfail.file_attributes);
    if (!S_ISREG(st.st_mode)) {
      res.status = IoTypeError(st);
    } else if (!MayRead(r.id, st)) {
      res.status = NFS3ERR_ACCES;
    }
  }
  if (res.status != NFS3_OK) {
    return rpc::XdrEncode(out, xdrproc_t(xdr_READ3res), &res) ? rpc::AcceptStat::kSuccess
                                                              : rpc::AcceptStat::kSystemErr;
  }
  // READ3resok = status, post_op_attr (present), count, eof, opaque data<>: a fixed-size
  // prefix, then the data, read in place: into the reply's tail where the connection sends
  // one (no zero-fill, no copy), else into `out` after the prefix.
  constexpr size_t kPrefixBytes = 4 + (4 + 84) + 4 + 4 + 4;
  uint32_t count = std::min<uint32_t>(a->count, options_.io_bytes_max);
  rpc::ReplyTail* tail = r.ctx.tail;
  size_t at = out.size();
  uint8_t* data;
  if (tail != nullptr) {
    tail->bytes = std::make_unique_for_overwrite<uint8_t[]>(count + 3);
    data = tail->bytes.get();
  } else {
    out.resize(at + kPrefixBytes + count + 3);
    data = out.data() + at + kPrefixBytes;
  }
  size_t done = 0;
  while (done < count) {
    ssize_t n = ::pread(fd->get(), data + done, count - done, off_t(a->offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.resize(at);
      if (tail != nullptr) *tail = rpc::ReplyTail{};
      res.status = Nfs3StatusFromErrno(errno);
      return rpc::XdrEncode(out, xdrproc_t(xdr_READ3res), &res) ? rpc::AcceptStat::kSuccess
                                                                : rpc::AcceptStat::kSystemErr;
    }
    if (n == 0) break;
    done += size_t(n);
  }
  std::memset(data + done, 0, 3);  // XDR padding
  size_t padded = (done + 3) & ~size_t(3);
  post_op_attr attrs;
  FillPostOp(&st, export_.fsid(), attrs);
  std::vector<uint8_t> prefix;
  rpc::XdrWriter p(prefix);
  p.U32(NFS3_OK);
  if (!rpc::XdrEncode(prefix, xdrproc_t(xdr_post_op_attr), &attrs)) return rpc::AcceptStat::kSystemErr;
  p.U32(uint32_t(done));
  p.U32(a->offset + done >= uint64_t(st.st_size) ? 1 : 0);  // eof
  p.U32(uint32_t(done));
  MANIFOLD_CHECK(prefix.size() == kPrefixBytes);
  if (tail != nullptr) {
    out.insert(out.end(), prefix.begin(), prefix.end());
    tail->size = padded;
  } else {
    std::memcpy(out.data() + at, prefix.data(), kPrefixBytes);
    out.resize(at + kPrefixBytes + padded);
  }
  return rpc::AcceptStat::kSuccess;
}

void Nfs3Program::Write(Req& r, WRITE3args& a, WRITE3res& res) {
  std::shared_ptr<Fd> fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.OpenForIo(HandleBytes(a.file), fd, st));
  if (res.status != NFS3_OK) return;
  auto& wcc = res.WRITE3res_u.resfail.file_wcc;
  FillPreOp(st, wcc.before);
  FillPostOp(&st, export_.fsid(), wcc.after);
  if (!S_ISREG(st.st_mode)) {
    res.status = IoTypeError(st);
    return;
  }
  // RFC 1813 3.3.7: count is the number of bytes of data; a mismatch is a malformed request.
  if (a.count != a.data.data_len || a.count > options_.io_bytes_max || RawEnum(a.stable) > FILE_SYNC) {
    res.status = NFS3ERR_INVAL;
    return;
  }
  if (a.offset > uint64_t(LLONG_MAX) - a.count) {
    res.status = NFS3ERR_FBIG;
    return;
  }
  if (!MayAccess(r.id, st, kMayWrite, true)) {
    res.status = NFS3ERR_ACCES;
    return;
  }
  // The server checked the permission and writes as root (who keeps the set-id bits: CAP_FSETID),
  // not as the caller the thread last served; a writer without privilege drops them first, as
  // write(2) does.
  BecomeRoot();
  res.status = DropSetIdBits(r.id, fd->get(), st);
  if (res.status != NFS3_OK) return;
  size_t done = 0;
  {
    std::lock_guard turn(write_locks_[st.st_ino % kWriteLockStripes]);
    while (done < a.count) {
      ssize_t n = ::pwrite(fd->get(), a.data.data_val + done, a.count - done,
                           off_t(a.offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EBADF) NewVerifier();  // what this file held unstable may be gone
        res.status = errno == EBADF ? ReadOnlyWriteStatus(fd->get()) : Nfs3StatusFromErrno(errno);
        return;
      }
      done += size_t(n);
    }
  }
  stable_how committed = UNSTABLE;
  uint32_t stable = RawEnum(a.stable);
  if (stable == DATA_SYNC || stable == FILE_SYNC) {
    // Stable WRITEs to one file at once share their syncs: one that starts after this
    // write's pwrite covers it (a client's O_DIRECT writes come many at a time).
    const bool metadata_too = stable == FILE_SYNC;
    SyncBatcher& batcher = metadata_too ? file_syncs_ : data_syncs_;
    if (int err = batcher.Sync(st.st_dev, st.st_ino,
                               [&] { return SyncFileData(fd->get(), metadata_too); });
        err != 0) {
      NewVerifier();  // the write-back error may have taken other clients' unstable data
      res.status = Nfs3StatusFromErrno(err);
      return;
    }
    committed = stable_how(stable);
  }
  auto& ok = res.WRITE3res_u.resok;
  FillPreOp(st, ok.file_wcc.before);
  FillPostOpFd(fd->get(), export_.fsid(), ok.file_wcc.after);
  ok.count = uint32_t(done);
  ok.committed = committed;
  std::memcpy(ok.verf, write_verifier().data(), NFS3_WRITEVERFSIZE);
}

void Nfs3Program::Commit(Req& r, COMMIT3args& a, COMMIT3res& res) {
  std::shared_ptr<Fd> fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.OpenForIo(HandleBytes(a.file), fd, st));
  if (res.status != NFS3_OK) return;
  auto& wcc = res.COMMIT3res_u.resfail.file_wcc;
  FillPreOp(st, wcc.before);
  FillPostOp(&st, export_.fsid(), wcc.after);
  if (!S_ISREG(st.st_mode)) {
    res.status = IoTypeError(st);
    return;
  }
  // As for WRITE (knfsd asks the same): no sync of a file the caller may not write.
  if (!MayAccess(r.id, st, kMayWrite, true)) {
    res.status = NFS3ERR_ACCES;
    return;
  }
  // The whole file is flushed: fdatasync has no range form that also syncs metadata needed
  // to read the data back (sync_file_range does not).
  if (int err = SyncFileData(fd->get(), false); err != 0) {
    NewVerifier();  // every client's unstable data in this file must come again
    res.status = Nfs3StatusFromErrno(err);
    return;
  }
  auto& ok = res.COMMIT3res_u.resok;
  FillPreOp(st, ok.file_wcc.before);
  FillPostOpFd(fd->get(), export_.fsid(), ok.file_wcc.after);
  std::memcpy(ok.verf, write_verifier().data(), NFS3_WRITEVERFSIZE);
}

nfsstat3 Nfs3Program::ApplySattr(Req& r, int path_fd, const struct stat& st, const sattr3& s) {
  std::string path = ProcPath(path_fd);
  if (s.size.set_it) {
    if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
    if (!MayAccess(r.id, st, kMayWrite, true)) return NFS3ERR_ACCES;
    if (s.size.set_size3_u.size > uint64_t(LLONG_MAX)) return NFS3ERR_FBIG;
    BecomeRoot();  // write permission was checked above, with the owner override
    Fd wfd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!wfd.valid()) return Nfs3StatusFromErrno(errno);
    if (::ftruncate(wfd.get(), off_t(s.size.set_size3_u.size)) != 0) {
      return Nfs3StatusFromErrno(errno);
    }
    if (nfsstat3 s = DropSetIdBits(r.id, wfd.get(), st); s != NFS3_OK) return s;
  }
  BecomeCaller(r.id);
  if (s.uid.set_it || s.gid.set_it) {
    uid_t uid = s.uid.set_it ? s.uid.set_uid3_u.uid : uid_t(-1);
    gid_t gid = s.gid.set_it ? s.gid.set_gid3_u.gid : gid_t(-1);
    if (::fchownat(path_fd, "", uid, gid, AT_EMPTY_PATH) != 0) return Nfs3StatusFromErrno(errno);
  }
  if (s.mode.set_it) {
    if (::chmod(path.c_str(), s.mode.set_mode3_u.mode & 07777) != 0) {
      return Nfs3StatusFromErrno(errno);
    }
  }
  if (s.atime.set_it != DONT_CHANGE || s.mtime.set_it != DONT_CHANGE) {
    // Setting a time to the server's clock is a "touch": write permission is enough (the owner
    // always has it), as knfsd's nfsd_setattr asks. The kernel would demand ownership when one
    // of the two is left alone (UTIME_OMIT), so the server checks and sets it as root. A time
    // the client gives needs ownership: the kernel checks that, as the caller.
    if (s.atime.set_it != SET_TO_CLIENT_TIME && s.mtime.set_it != SET_TO_CLIENT_TIME) {
      if (!MayAccess(r.id, st, kMayWrite, true)) return NFS3ERR_ACCES;
      BecomeRoot();
    }
    struct timespec ts[2];
    auto fill = [](time_how how, const nfstime3& t, struct timespec& out) {
      if (how == SET_TO_CLIENT_TIME) {
        out = {time_t(t.seconds), long(t.nseconds)};
      } else {
        out = {0, how == SET_TO_SERVER_TIME ? UTIME_NOW : UTIME_OMIT};
      }
    };
    fill(s.atime.set_it, s.atime.set_atime_u.atime, ts[0]);
    fill(s.mtime.set_it, s.mtime.set_mtime_u.mtime, ts[1]);
    if (::utimensat(AT_FDCWD, path.c_str(), ts, 0) != 0) return Nfs3StatusFromErrno(errno);
  }
  return NFS3_OK;
}

nfsstat3 Nfs3Program::SyncObject(const PathFd& fd, const struct stat& st) {
  return SyncFd(fd.get(), st, S_ISDIR(st.st_mode));  // Resolve keeps directories readable
}

nfsstat3 Nfs3Program::SyncFd(int fd, const struct stat& st, bool readable) {
  if (!options_.sync_metadata) return NFS3_OK;
  int err = 0;
  if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    Fd reopened;
    if (!readable) {
      // fsync needs a real descriptor; an O_PATH one is reopened through /proc. (Not with
      // O_NOFOLLOW: /proc/self/fd/N is itself a link, and the open would fail with ELOOP.)
      BecomeRoot();
      reopened = Fd(::open(ProcPath(fd).c_str(), O_RDONLY | O_CLOEXEC));
      if (!reopened.valid()) return Nfs3StatusFromErrno(errno);
      fd = reopened.get();
    }
    auto sync = [fd] { return ::fsync(fd) == 0 ? 0 : errno; };
    // Requests changing one directory at once share an fsync that started after them all.
    err = S_ISDIR(st.st_mode) ? dir_syncs_.Sync(st.st_dev, st.st_ino, sync) : sync();
  } else {
    // Symlinks and special files cannot be opened to be synced (opening a device may even
    // act on it): flush the file system instead. Rare: their creation, or SETATTR.
    err = export_.SyncFileSystem() == 0 ? 0 : errno;
  }
  if (err != 0) return Nfs3StatusFromErrno(err);
  metadata_syncs_.fetch_add(1, std::memory_order_relaxed);
  return NFS3_OK;
}

void Nfs3Program::SetAttr(Req& r, SETATTR3args& a, SETATTR3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.object), fd, st));
  if (res.status != NFS3_OK) return;
  auto& wcc = res.SETATTR3res_u.resfail.obj_wcc;
  FillPreOp(st, wcc.before);
  // RFC 1813 3.3.2: the guard compares the object's ctime with the client's.
  if (a.guard.check && (uint32_t(st.st_ctim.tv_sec) != a.guard.sattrguard3_u.obj_ctime.seconds ||
                        uint32_t(st.st_ctim.tv_nsec) != a.guard.sattrguard3_u.obj_ctime.nseconds)) {
    res.status = NFS3ERR_NOT_SYNC;
    FillPostOp(&st, export_.fsid(), wcc.after);
    return;
  }
  res.status = CheckSattr(a.new_attributes);
  if (res.status == NFS3_OK) res.status = ApplySattr(r, fd.get(), st, a.new_attributes);
  if (res.status == NFS3_OK) res.status = SyncObject(fd, st);
  FillPostOpFd(fd.get(), export_.fsid(), wcc.after);
}

}  // namespace manifold::ds
