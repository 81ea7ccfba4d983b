// Names of NFSv4 status codes and operations as the RFCs spell them, for test failure messages
// and logs ("OPEN NFS4ERR_SHARE_DENIED", not "18 10015").
//
// Kept private to nfs4client until src/state/status_names.h exists; then Nfs4StatName moves
// there (the server needs the same table) and this file keeps only the op names.
#pragma once

#include "xdr/nfs4.h"

namespace manifold::nfs4client {

// Never null: an unknown value gives a fixed "unknown" string.
const char* Nfs4StatName(nfsstat4 status);
const char* Nfs4OpName(nfs_opnum4 op);       // "SEQUENCE", "OPEN", ... (no OP_ prefix)
const char* Nfs4CbOpName(nfs_cb_opnum4 op);  // "CB_SEQUENCE", "CB_RECALL", ...

}  // namespace manifold::nfs4client
