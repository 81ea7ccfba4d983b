// Internal to the NFSv3 driver: the one bridge from nfsstat3 (RFC 1813 2.6) and mountstat3
// (RFC 1813 5.1) to Status (STYLE: two error vocabularies, one bridge).
#pragma once

#include <string_view>

#include "common/status.h"

namespace manifold::volume::internal {

// The RFC name of an nfsstat3 value ("NFS3ERR_STALE"), or "nfsstat3(N)" for an unknown one.
const char* Nfsstat3Name(int nfsstat3);

// `what` says which call failed ("READ f0001"); the message carries the RFC name.
Status StatusFromNfsstat3(int nfsstat3, std::string_view what);
Status StatusFromMountstat3(int mountstat3, std::string_view what);

}  // namespace manifold::volume::internal
