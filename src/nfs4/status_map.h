// The one bridge from Status (below the protocol line) to nfsstat4. An op that needs another
// answer for a code says why at the line that deviates.
#pragma once

#include "common/status.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4 {

nfsstat4 ToNfs4(const Status& status);

}  // namespace manifold::nfs4
