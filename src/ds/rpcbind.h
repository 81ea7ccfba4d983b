// Registration with a local rpcbind, for clients that look the ports up. Optional: clients
// that are told the port (port=P,mountport=P) never need it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace manifold::ds {

// Registers each (program, version) on TCP `port` if an rpcbind is running on this host.
// Returns whether it was registered; never blocks long when none runs.
bool RegisterWithRpcbind(const std::vector<std::pair<uint32_t, uint32_t>>& programs,
                         uint16_t port);
void UnregisterFromRpcbind(const std::vector<std::pair<uint32_t, uint32_t>>& programs);

}  // namespace manifold::ds
