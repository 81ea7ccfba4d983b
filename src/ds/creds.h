// Per-request credentials. Namespace operations run with the caller's AUTH_SYS identity as
// this thread's fsuid/fsgid/supplementary groups, so the kernel enforces permissions and new
// files get the caller's ownership, exactly as for a local process. Linux keeps these per
// thread when set with the raw syscalls (glibc's wrappers would change every thread).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "common/identity.h"
#include "rpc/message.h"

namespace manifold::ds {

Identity IdentityFor(const rpc::Credential& cred, bool root_squash);

// Switches this thread to `id` for the scope's lifetime, then back to root.
class CredScope {
 public:
  explicit CredScope(const Identity& id);
  ~CredScope();
  CredScope(const CredScope&) = delete;
  CredScope& operator=(const CredScope&) = delete;
};

// MayAccess (common/identity.h) for a stat result.
bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override);

}  // namespace manifold::ds
