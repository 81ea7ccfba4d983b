#include "volume/nfs3_status.h"

#include "common/nfs3_status_names.h"

#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

#include <string>

namespace manifold::volume::internal {
namespace {

// A handle the server no longer knows (the file was removed, or the export replaced) maps to
// Code::kStale where common/status.h has it, else to kNotFound with "stale" in the message.
// Chosen at compile time so that this file builds before and after kStale exists.
template <typename C>
constexpr C StaleCode() {
  if constexpr (requires { C::kStale; }) {
    return C::kStale;
  } else {
    return C::kNotFound;
  }
}

Code CodeOf(int nfsstat3) {
  switch (nfsstat3) {
    case NFS3ERR_NOENT: return Code::kNotFound;
    case NFS3ERR_EXIST: return Code::kExists;
    case NFS3ERR_PERM:
    case NFS3ERR_ACCES:
    case NFS3ERR_ROFS: return Code::kPermission;
    case NFS3ERR_NOSPC:
    case NFS3ERR_DQUOT: return Code::kNoSpace;
    case NFS3ERR_STALE:
    case NFS3ERR_BADHANDLE: return StaleCode<Code>();
    case NFS3ERR_JUKEBOX: return Code::kUnavailable;  // RFC 1813: try again later
    case NFS3ERR_NOTEMPTY: return Code::kConflict;
    case NFS3ERR_INVAL:
    case NFS3ERR_NOTDIR:
    case NFS3ERR_ISDIR:
    case NFS3ERR_NAMETOOLONG:
    case NFS3ERR_FBIG:
    case NFS3ERR_XDEV:
    case NFS3ERR_MLINK:
    case NFS3ERR_BADTYPE:
    case NFS3ERR_NOTSUPP:
    case NFS3ERR_TOOSMALL: return Code::kInvalid;
    default: return Code::kIo;  // NFS3ERR_IO, NXIO, NODEV, SERVERFAULT, and the unknown
  }
}

}  // namespace

const char* Nfsstat3Name(int nfsstat3) { return Nfs3StatusName(uint32_t(nfsstat3)); }

Status StatusFromNfsstat3(int nfsstat3, std::string_view what) {
  std::string message = std::string(what) + ": " + Nfsstat3Name(nfsstat3);
  if (nfsstat3 == NFS3ERR_STALE || nfsstat3 == NFS3ERR_BADHANDLE) {
    message += " (stale handle: the DS file is gone)";
  } else if (std::string_view(Nfsstat3Name(nfsstat3)) == "nfsstat3(?)") {
    message = std::string(what) + ": nfsstat3 " + std::to_string(nfsstat3);
  }
  return Status(CodeOf(nfsstat3), std::move(message));
}

Status StatusFromMountstat3(int mountstat3, std::string_view what) {
  Code code = Code::kIo;
  const char* name = "MNT3ERR_?";
  switch (mountstat3) {
    case MNT3ERR_PERM:
      code = Code::kPermission;
      name = "MNT3ERR_PERM";
      break;
    case MNT3ERR_ACCES:
      code = Code::kPermission;
      name = "MNT3ERR_ACCES";
      break;
    case MNT3ERR_NOENT:
      code = Code::kNotFound;
      name = "MNT3ERR_NOENT";
      break;
    case MNT3ERR_NOTDIR:
      code = Code::kInvalid;
      name = "MNT3ERR_NOTDIR";
      break;
    case MNT3ERR_INVAL:
      code = Code::kInvalid;
      name = "MNT3ERR_INVAL";
      break;
    case MNT3ERR_NAMETOOLONG:
      code = Code::kInvalid;
      name = "MNT3ERR_NAMETOOLONG";
      break;
    case MNT3ERR_NOTSUPP:
      code = Code::kInvalid;
      name = "MNT3ERR_NOTSUPP";
      break;
    case MNT3ERR_IO: name = "MNT3ERR_IO"; break;
    case MNT3ERR_SERVERFAULT: name = "MNT3ERR_SERVERFAULT"; break;
    default: break;
  }
  return Status(code, std::string(what) + ": " + name + " (" + std::to_string(mountstat3) + ")");
}

}  // namespace manifold::volume::internal
