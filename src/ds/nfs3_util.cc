#include "ds/nfs3_util.h"

#include "common/nfs3_status_names.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace manifold::ds {

const char* Nfs3StatName(nfsstat3 s) { return Nfs3StatusName(uint32_t(s)); }

nfsstat3 Nfs3StatusFromErrno(int err) {
  switch (err) {
    case 0: return NFS3_OK;
    case EPERM: return NFS3ERR_PERM;
    case ENOENT: return NFS3ERR_NOENT;
    case ENXIO: return NFS3ERR_NXIO;
    case EACCES: return NFS3ERR_ACCES;
    case EEXIST: return NFS3ERR_EXIST;
    case EXDEV: return NFS3ERR_XDEV;
    case ENODEV: return NFS3ERR_NODEV;
    case ENOTDIR: return NFS3ERR_NOTDIR;
    case EISDIR: return NFS3ERR_ISDIR;
    case EINVAL: return NFS3ERR_INVAL;
    case EFBIG: return NFS3ERR_FBIG;
    case ENOSPC: return NFS3ERR_NOSPC;
    case EROFS: return NFS3ERR_ROFS;
    case EMLINK: return NFS3ERR_MLINK;
    case ENAMETOOLONG: return NFS3ERR_NAMETOOLONG;
    case ENOTEMPTY: return NFS3ERR_NOTEMPTY;
    case EDQUOT: return NFS3ERR_DQUOT;
    case ESTALE: return NFS3ERR_STALE;
    case ELOOP: return NFS3ERR_INVAL;  // a symlink where a directory was needed
    case EOPNOTSUPP: return NFS3ERR_NOTSUPP;
    case EIO: return NFS3ERR_IO;
    // Passing shortages: NFS3ERR_JUKEBOX makes the client wait and retry (as knfsd answers
    // them) instead of handing EIO to the application.
    case EAGAIN:
    case ENOMEM:
    case ETIMEDOUT:
    case EMFILE:
    case ENFILE:
      return NFS3ERR_JUKEBOX;
    default: return NFS3ERR_IO;
  }
}

nfsstat3 Nfs3StatusFromHandle(HandleError e) {
  switch (e) {
    case HandleError::kOk: return NFS3_OK;
    case HandleError::kBadHandle: return NFS3ERR_BADHANDLE;
    case HandleError::kStale: return NFS3ERR_STALE;
    case HandleError::kIo: return NFS3ERR_IO;
  }
  return NFS3ERR_SERVERFAULT;
}

static ftype3 TypeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return NF3REG;
    case S_IFDIR: return NF3DIR;
    case S_IFLNK: return NF3LNK;
    case S_IFBLK: return NF3BLK;
    case S_IFCHR: return NF3CHR;
    case S_IFSOCK: return NF3SOCK;
    case S_IFIFO: return NF3FIFO;
  }
  return NF3REG;
}

void FillFattr(const struct stat& st, uint64_t fsid, fattr3& a) {
  a.type = TypeOf(st.st_mode);
  a.mode = st.st_mode & 07777;
  a.nlink = uint32(st.st_nlink);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.size = uint64_t(st.st_size);
  a.used = uint64_t(st.st_blocks) * 512;
  a.rdev.specdata1 = major(st.st_rdev);
  a.rdev.specdata2 = minor(st.st_rdev);
  a.fsid = fsid;
  a.fileid = st.st_ino;
  a.atime = {uint32(st.st_atim.tv_sec), uint32(st.st_atim.tv_nsec)};
  a.mtime = {uint32(st.st_mtim.tv_sec), uint32(st.st_mtim.tv_nsec)};
  a.ctime = {uint32(st.st_ctim.tv_sec), uint32(st.st_ctim.tv_nsec)};
}

void FillPostOp(const struct stat* st, uint64_t fsid, post_op_attr& out) {
  out.attributes_follow = st != nullptr;
  if (st) FillFattr(*st, fsid, out.post_op_attr_u.attributes);
}

void FillPostOpFd(int fd, uint64_t fsid, post_op_attr& out) {
  struct stat st;
  FillPostOp(fd >= 0 && ::fstat(fd, &st) == 0 ? &st : nullptr, fsid, out);
}

void FillPreOp(const struct stat& st, pre_op_attr& out) {
  out.attributes_follow = TRUE;
  auto& w = out.pre_op_attr_u.attributes;
  w.size = uint64_t(st.st_size);
  w.mtime = {uint32(st.st_mtim.tv_sec), uint32(st.st_mtim.tv_nsec)};
  w.ctime = {uint32(st.st_ctim.tv_sec), uint32(st.st_ctim.tv_nsec)};
}

void FillHandle(const FileHandle& fh, rpc::Arena& arena, nfs_fh3& out) {
  out.data.data_len = u_int(fh.size());
  out.data.data_val = static_cast<char*>(arena.Alloc(fh.size()));
  std::memcpy(out.data.data_val, fh.data(), fh.size());
}

void FillPostOpFh(const FileHandle& fh, rpc::Arena& arena, post_op_fh3& out) {
  out.handle_follows = TRUE;
  FillHandle(fh, arena, out.post_op_fh3_u.handle);
}

std::span<const uint8_t> HandleBytes(const nfs_fh3& fh) {
  return {reinterpret_cast<const uint8_t*>(fh.data.data_val), fh.data.data_len};
}

nfsstat3 CheckSattr(const sattr3& s) {
  return RawEnum(s.atime.set_it) <= SET_TO_CLIENT_TIME && RawEnum(s.mtime.set_it) <= SET_TO_CLIENT_TIME
             ? NFS3_OK
             : NFS3ERR_INVAL;
}

nfsstat3 CheckNewName(const char* name) {
  if (name == nullptr || name[0] == '\0') return NFS3ERR_INVAL;
  if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) return NFS3ERR_EXIST;
  if (std::strchr(name, '/') != nullptr) return NFS3ERR_INVAL;
  return NFS3_OK;
}

}  // namespace manifold::ds
