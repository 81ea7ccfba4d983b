// Names of NFSv3 status codes (RFC 1813 2.6), spelled as the RFC does. By number, so that code
// using rpcgen's nfsstat3 (the data server) and code using libnfs's (the volume driver, the
// benchmark client) share one table; both follow the RFC's values.
#pragma once

#include <cstdint>

namespace manifold {

// "NFS3ERR_UNKNOWN" for a value the RFC does not define.
const char* Nfs3StatusName(uint32_t code);

}  // namespace manifold
