// The connection the NFSv4 client runs on: rpc::Client (thread-safe calls matched by xid,
// writes queued one at a time, calls from the server handed to a CallHandler for the
// backchannel).
#pragma once

#include "rpc/client.h"

namespace manifold::nfs4client {

using Transport = rpc::Client;

}  // namespace manifold::nfs4client
