// Per-request credentials. Namespace operations run with the caller's AUTH_SYS identity as
// this thread's fsuid/fsgid/supplementary groups, so the kernel enforces permissions and new
// files get the caller's ownership, exactly as for a local process. Linux keeps these per
// thread when set with the raw syscalls (glibc's wrappers would change every thread).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "rpc/message.h"

namespace manifold::ds {

// uid/gid for AUTH_NONE and for root when root squash is on.
inline constexpr uint32_t kAnonymousId = 65534;

struct Identity {
  uint32_t uid = kAnonymousId;
  uint32_t gid = kAnonymousId;
  std::vector<uint32_t> gids;
  bool InGroup(uint32_t g) const;
};

Identity IdentityFor(const rpc::Credential& cred, bool root_squash);

// Switches this thread to `id` for the scope's lifetime, then back to root.
class CredScope {
 public:
  explicit CredScope(const Identity& id);
  ~CredScope();
  CredScope(const CredScope&) = delete;
  CredScope& operator=(const CredScope&) = delete;
};

enum AccessBits : uint32_t { kMayRead = 4, kMayWrite = 2, kMayExec = 1 };
// Mode-bit check as an NFS server does it: root may do anything except execute a file with
// no execute bit; the owner may read and write their own file whatever its mode (a client
// that opened a file before chmod keeps working, as with a local file descriptor).
bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override);

}  // namespace manifold::ds
