// The RFC's name of every nfsstat4 value ("NFS4ERR_BAD_STATEID", not 10025), for logs, test
// failure messages and the compound loop's traces.
#pragma once

#include "xdr/nfs4.h"

namespace manifold::state {

// Never null. A value nfs4.x does not define gives "NFS4ERR_(unknown)".
const char* Nfs4StatName(nfsstat4 status);

}  // namespace manifold::state
