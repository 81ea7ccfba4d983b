#include "nfs4/status_map.h"

namespace manifold::nfs4 {

nfsstat4 ToNfs4(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return NFS4_OK;
    case Code::kNotFound: return NFS4ERR_NOENT;
    case Code::kExists: return NFS4ERR_EXIST;
    case Code::kNotDir: return NFS4ERR_NOTDIR;
    case Code::kIsDir: return NFS4ERR_ISDIR;
    case Code::kNotEmpty: return NFS4ERR_NOTEMPTY;
    case Code::kStale: return NFS4ERR_STALE;
    case Code::kInvalid: return NFS4ERR_INVAL;
    case Code::kTooBig: return NFS4ERR_NAMETOOLONG;
    case Code::kPrecondition: return NFS4ERR_NOT_SAME;
    case Code::kTooManyLinks: return NFS4ERR_MLINK;
    case Code::kFileTooBig: return NFS4ERR_FBIG;
    case Code::kConflict: return NFS4ERR_DELAY;      // contention: the client retries
    case Code::kUnavailable: return NFS4ERR_DELAY;   // a volume is down or busy
    case Code::kNoSpace: return NFS4ERR_NOSPC;
    case Code::kPermission: return NFS4ERR_ACCESS;
    case Code::kLimit: return NFS4ERR_RESOURCE;
    case Code::kIo: return NFS4ERR_IO;
    case Code::kCorruption:
    case Code::kInternal:
      return NFS4ERR_SERVERFAULT;
  }
  return NFS4ERR_SERVERFAULT;
}

}  // namespace manifold::nfs4
