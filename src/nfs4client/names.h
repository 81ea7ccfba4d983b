// Names of NFSv4 status codes and operations as the RFCs spell them, for test failure messages
// and logs ("OPEN NFS4ERR_SHARE_DENIED", not "18 10015"). Status names are the server's own
// table (state/status_names.h), so client and server never disagree on a spelling.
#pragma once

#include "state/status_names.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4client {

using state::Nfs4StatName;  // never null; an unknown value gives "NFS4ERR_(unknown)"

// Never null: an unknown value gives a fixed "unknown" string.
const char* Nfs4OpName(nfs_opnum4 op);       // "SEQUENCE", "OPEN", ... (no OP_ prefix)
const char* Nfs4CbOpName(nfs_cb_opnum4 op);  // "CB_SEQUENCE", "CB_RECALL", ...

}  // namespace manifold::nfs4client
