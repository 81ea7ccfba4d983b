// Shared pieces of the NFSv3 procedures: errno to nfsstat3, stat to fattr3, wcc data.
#pragma once

#include <sys/stat.h>

#include <cstring>
#include <span>
#include <string>

#include "ds/export.h"
#include "rpc/program.h"
#include "xdr/nfs3.h"

namespace manifold::ds {

const char* Nfs3StatName(nfsstat3 s);
// The one bridge from errno to the protocol's status (RFC 1813 section 2.6).
nfsstat3 Nfs3StatusFromErrno(int err);
nfsstat3 Nfs3StatusFromHandle(HandleError e);

void FillFattr(const struct stat& st, uint64_t fsid, fattr3& out);
void FillPostOp(const struct stat* st, uint64_t fsid, post_op_attr& out);
// Attributes of an open descriptor after an operation (none if fstat fails).
void FillPostOpFd(int fd, uint64_t fsid, post_op_attr& out);
void FillPreOp(const struct stat& st, pre_op_attr& out);
void FillHandle(const FileHandle& fh, rpc::Arena& arena, nfs_fh3& out);
void FillPostOpFh(const FileHandle& fh, rpc::Arena& arena, post_op_fh3& out);

std::span<const uint8_t> HandleBytes(const nfs_fh3& fh);

// The wire value of an enum field. rpcgen's decoders accept any 32-bit value for an enum that
// is not a union discriminant (or is one with a default arm); reading such a value as the C++
// enum type is undefined, so procedures compare the raw value instead.
template <typename E>
uint32_t RawEnum(const E& e) {
  static_assert(sizeof(E) == sizeof(uint32_t));
  uint32_t v;
  std::memcpy(&v, &e, sizeof(v));
  return v;
}

// sattr3's time_how values are in range (NFS3ERR_INVAL otherwise).
nfsstat3 CheckSattr(const sattr3& s);

// A single path component a client may name: not empty, no '/', no NUL, not "." or "..".
// LOOKUP handles "." and ".." itself.
nfsstat3 CheckNewName(const char* name);

}  // namespace manifold::ds
