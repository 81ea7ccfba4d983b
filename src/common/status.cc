#include "common/status.h"

#include <cstring>

namespace manifold {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not-found";
    case Code::kExists: return "exists";
    case Code::kConflict: return "conflict";
    case Code::kNoSpace: return "no-space";
    case Code::kUnavailable: return "unavailable";
    case Code::kIo: return "io";
    case Code::kCorruption: return "corruption";
    case Code::kInvalid: return "invalid";
    case Code::kPermission: return "permission";
    case Code::kLimit: return "limit";
    case Code::kInternal: return "internal";
    case Code::kNotDir: return "not-dir";
    case Code::kIsDir: return "is-dir";
    case Code::kNotEmpty: return "not-empty";
    case Code::kStale: return "stale";
    case Code::kTooBig: return "too-big";
    case Code::kPrecondition: return "precondition";
    case Code::kTooManyLinks: return "too-many-links";
    case Code::kFileTooBig: return "file-too-big";
  }
  return "unknown";
}

Status Status::FromErrno(int err, const std::string& what) {
  Code code = Code::kIo;
  switch (err) {
    case ENOENT: code = Code::kNotFound; break;
    case EEXIST: code = Code::kExists; break;
    case ENOSPC: case EDQUOT: code = Code::kNoSpace; break;
    case EACCES: case EPERM: code = Code::kPermission; break;
    case EINVAL: case ENAMETOOLONG: code = Code::kInvalid; break;
    case ECONNREFUSED: case ECONNRESET: case ETIMEDOUT: case EHOSTUNREACH: case EPIPE:
      code = Code::kUnavailable; break;
    default: break;
  }
  return Status(code, what + ": " + std::strerror(err));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace manifold
