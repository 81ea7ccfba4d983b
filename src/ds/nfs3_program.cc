#include "ds/nfs3_program.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>

#include "ds/nfs3_util.h"

namespace manifold::ds {

Nfs3Program::Nfs3Program(Export& exp, DsOptions options) : export_(exp), options_(options) {
  NewVerifier();
}

void Nfs3Program::NewVerifier() {
  const uint64_t old = verifier_.load();
  uint64_t v = old;
  while (v == old) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), int(sizeof(v))) != 1) {
      v = old + (uint64_t(::time(nullptr)) ^ uint64_t(::getpid()) << 32) + 1;
    }
  }
  verifier_.store(v);
}

std::array<char, NFS3_WRITEVERFSIZE> Nfs3Program::write_verifier() const {
  static_assert(NFS3_WRITEVERFSIZE == sizeof(uint64_t));
  std::array<char, NFS3_WRITEVERFSIZE> out;
  const uint64_t v = verifier_.load();
  std::memcpy(out.data(), &v, out.size());
  return out;
}

int Nfs3Program::SyncFileData(int fd, bool metadata_too) {
  if (options_.sync_file_data) return options_.sync_file_data(fd, metadata_too);
  int rc = metadata_too ? ::fsync(fd) : ::fdatasync(fd);
  return rc == 0 ? 0 : errno;
}

#define MANIFOLD_NFS3_PROC(NUM, ARGS, RES, METHOD)                                     \
  case NUM:                                                                            \
    return rpc::RunXdrProc<ARGS, RES>(                                                 \
        args, out, xdrproc_t(xdr_##ARGS), xdrproc_t(xdr_##RES),                        \
        [&](ARGS& a, RES& res, rpc::Arena& arena) {                                    \
          Req r{ctx, id, arena};                                                       \
          METHOD(r, a, res);                                                           \
          if (res.status != NFS3_OK) {                                                 \
            spdlog::debug("nfs3 {} {}: {}", ctx.peer, #METHOD, Nfs3StatName(res.status)); \
          }                                                                            \
        });

rpc::AcceptStat Nfs3Program::Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                                  std::vector<uint8_t>& out) {
  Identity id = IdentityFor(ctx.header.cred, options_.root_squash);
  switch (ctx.header.proc) {
    case NFSPROC3_NULL:
      return rpc::AcceptStat::kSuccess;
    MANIFOLD_NFS3_PROC(NFSPROC3_GETATTR, GETATTR3args, GETATTR3res, GetAttr)
    MANIFOLD_NFS3_PROC(NFSPROC3_SETATTR, SETATTR3args, SETATTR3res, SetAttr)
    MANIFOLD_NFS3_PROC(NFSPROC3_LOOKUP, LOOKUP3args, LOOKUP3res, Lookup)
    MANIFOLD_NFS3_PROC(NFSPROC3_ACCESS, ACCESS3args, ACCESS3res, Access)
    MANIFOLD_NFS3_PROC(NFSPROC3_READLINK, READLINK3args, READLINK3res, ReadLink)
    case NFSPROC3_READ: {
      rpc::Arena arena;
      Req r{ctx, id, arena};
      return ReadInto(r, args, out);
    }
    MANIFOLD_NFS3_PROC(NFSPROC3_WRITE, WRITE3args, WRITE3res, Write)
    MANIFOLD_NFS3_PROC(NFSPROC3_CREATE, CREATE3args, CREATE3res, Create)
    MANIFOLD_NFS3_PROC(NFSPROC3_MKDIR, MKDIR3args, MKDIR3res, MkDir)
    MANIFOLD_NFS3_PROC(NFSPROC3_SYMLINK, SYMLINK3args, SYMLINK3res, Symlink)
    MANIFOLD_NFS3_PROC(NFSPROC3_MKNOD, MKNOD3args, MKNOD3res, MkNod)
    MANIFOLD_NFS3_PROC(NFSPROC3_REMOVE, REMOVE3args, REMOVE3res, Remove)
    MANIFOLD_NFS3_PROC(NFSPROC3_RMDIR, RMDIR3args, RMDIR3res, RmDir)
    MANIFOLD_NFS3_PROC(NFSPROC3_RENAME, RENAME3args, RENAME3res, Rename)
    MANIFOLD_NFS3_PROC(NFSPROC3_LINK, LINK3args, LINK3res, Link)
    MANIFOLD_NFS3_PROC(NFSPROC3_READDIR, READDIR3args, READDIR3res, ReadDir)
    MANIFOLD_NFS3_PROC(NFSPROC3_READDIRPLUS, READDIRPLUS3args, READDIRPLUS3res, ReadDirPlus)
    MANIFOLD_NFS3_PROC(NFSPROC3_FSSTAT, FSSTAT3args, FSSTAT3res, FsStat)
    MANIFOLD_NFS3_PROC(NFSPROC3_FSINFO, FSINFO3args, FSINFO3res, FsInfo)
    MANIFOLD_NFS3_PROC(NFSPROC3_PATHCONF, PATHCONF3args, PATHCONF3res, PathConf)
    MANIFOLD_NFS3_PROC(NFSPROC3_COMMIT, COMMIT3args, COMMIT3res, Commit)
    default:
      return rpc::AcceptStat::kProcUnavail;
  }
}

#undef MANIFOLD_NFS3_PROC

bool Nfs3Program::RunsInline(const rpc::CallHeader& header, std::span<const uint8_t>) const {
  // Attribute reads answered from cached inodes. Anything that writes, syncs or reads file
  // data goes to the worker pool, where blocking cannot stall other connections.
  if (header.vers != NFS_V3) return false;
  switch (header.proc) {
    case NFSPROC3_NULL:
    case NFSPROC3_GETATTR:
    case NFSPROC3_LOOKUP:
    case NFSPROC3_ACCESS:
    case NFSPROC3_READLINK:
    case NFSPROC3_FSINFO:
    case NFSPROC3_PATHCONF:
      return true;
    default:
      return false;
  }
}

void Nfs3Program::GetAttr(Req& r, GETATTR3args& a, GETATTR3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.object), fd, st));
  if (res.status == NFS3_OK) FillFattr(st, export_.fsid(), res.GETATTR3res_u.resok.obj_attributes);
}

void Nfs3Program::Access(Req& r, ACCESS3args& a, ACCESS3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.object), fd, st));
  if (res.status != NFS3_OK) return;
  auto& ok = res.ACCESS3res_u.resok;
  FillPostOp(&st, export_.fsid(), ok.obj_attributes);
  // RFC 1813 3.3.4: answer what a local process with the caller's identity could do.
  bool dir = S_ISDIR(st.st_mode);
  uint32_t granted = 0;
  if (MayAccess(r.id, st, kMayRead, false)) granted |= ACCESS3_READ;
  if (MayAccess(r.id, st, kMayWrite, false)) {
    granted |= ACCESS3_MODIFY | ACCESS3_EXTEND | (dir ? ACCESS3_DELETE : 0);
  }
  if (MayAccess(r.id, st, kMayExec, false)) granted |= dir ? ACCESS3_LOOKUP : ACCESS3_EXECUTE;
  ok.access = a.access & granted;
}

void Nfs3Program::ReadLink(Req& r, READLINK3args& a, READLINK3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.symlink), fd, st));
  if (res.status != NFS3_OK) return;
  FillPostOp(&st, export_.fsid(), res.READLINK3res_u.resfail.symlink_attributes);
  if (!S_ISLNK(st.st_mode)) {
    res.status = NFS3ERR_INVAL;
    return;
  }
  char* buf = static_cast<char*>(r.arena.Alloc(MANIFOLD_NFS3_PATH_MAX + 1));
  ssize_t n = ::readlinkat(fd.get(), "", buf, MANIFOLD_NFS3_PATH_MAX);
  if (n < 0) {
    res.status = Nfs3StatusFromErrno(errno);
    return;
  }
  buf[n] = '\0';
  auto& ok = res.READLINK3res_u.resok;
  FillPostOp(&st, export_.fsid(), ok.symlink_attributes);
  ok.data = buf;
}

void Nfs3Program::FsStat(Req& r, FSSTAT3args& a, FSSTAT3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.fsroot), fd, st));
  if (res.status != NFS3_OK) return;
  struct statvfs vfs;
  if (::fstatvfs(fd.get(), &vfs) != 0) {
    res.status = Nfs3StatusFromErrno(errno);
    FillPostOp(&st, export_.fsid(), res.FSSTAT3res_u.resfail.obj_attributes);
    return;
  }
  auto& ok = res.FSSTAT3res_u.resok;
  FillPostOp(&st, export_.fsid(), ok.obj_attributes);
  ok.tbytes = uint64_t(vfs.f_blocks) * vfs.f_frsize;
  ok.fbytes = uint64_t(vfs.f_bfree) * vfs.f_frsize;
  ok.abytes = uint64_t(vfs.f_bavail) * vfs.f_frsize;
  ok.tfiles = vfs.f_files;
  ok.ffiles = vfs.f_ffree;
  ok.afiles = vfs.f_favail;
  ok.invarsec = 0;  // the file system changes under us at any time
}

void Nfs3Program::FsInfo(Req& r, FSINFO3args& a, FSINFO3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.fsroot), fd, st));
  if (res.status != NFS3_OK) return;
  auto& ok = res.FSINFO3res_u.resok;
  FillPostOp(&st, export_.fsid(), ok.obj_attributes);
  ok.rtmax = ok.rtpref = options_.io_bytes_max;
  ok.wtmax = ok.wtpref = options_.io_bytes_max;
  ok.rtmult = ok.wtmult = 4096;
  ok.dtpref = options_.readdir_bytes_pref;
  ok.maxfilesize = uint64_t(LLONG_MAX);
  ok.time_delta = {0, 1};
  ok.properties = FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME;
}

void Nfs3Program::PathConf(Req& r, PATHCONF3args& a, PATHCONF3res& res) {
  PathFd fd;
  struct stat st;
  res.status = Nfs3StatusFromHandle(export_.Resolve(HandleBytes(a.object), fd, st));
  if (res.status != NFS3_OK) return;
  auto& ok = res.PATHCONF3res_u.resok;
  FillPostOp(&st, export_.fsid(), ok.obj_attributes);
  long link_max = ::fpathconf(fd.get(), _PC_LINK_MAX);
  ok.linkmax = link_max > 0 ? uint32_t(link_max) : 1;
  ok.name_max = MANIFOLD_NFS3_NAME_MAX;
  ok.no_trunc = TRUE;
  ok.chown_restricted = TRUE;
  ok.case_insensitive = FALSE;
  ok.case_preserving = TRUE;
}

}  // namespace manifold::ds
