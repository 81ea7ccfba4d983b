#include "ds/rpcbind.h"

#include <netinet/in.h>
#include <rpc/pmap_clnt.h>
#include <rpc/rpc.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

namespace manifold::ds {

namespace {

// True if something listens on 127.0.0.1:111 (rpcbind's well-known port, RFC 1833).
bool RpcbindListening() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(111);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool RegisterWithRpcbind(const std::vector<std::pair<uint32_t, uint32_t>>& programs,
                         uint16_t port) {
  if (!RpcbindListening()) {
    spdlog::info("rpcbind: none running; clients must be given port={} and mountport={}", port,
                 port);
    return false;
  }
  bool all = true;
  for (auto [prog, vers] : programs) {
    pmap_unset(prog, vers);
    if (!pmap_set(prog, vers, IPPROTO_TCP, port)) {
      spdlog::warn("rpcbind: could not register program {} version {}", prog, vers);
      all = false;
    }
  }
  if (all) spdlog::info("rpcbind: registered NFS v3 and MOUNT v3 on TCP port {}", port);
  return all;
}

void UnregisterFromRpcbind(const std::vector<std::pair<uint32_t, uint32_t>>& programs) {
  for (auto [prog, vers] : programs) pmap_unset(prog, vers);
}

}  // namespace manifold::ds
