// Per-request credentials. Namespace operations run with the caller's AUTH_SYS identity as
// this thread's fsuid/fsgid/supplementary groups (BecomeCaller), so the kernel enforces permissions and new
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

// Makes this thread act as `id` for file system access (fsuid, fsgid, groups), until the
// next BecomeCaller or BecomeRoot on the same thread. Switching is lazy: a worker that serves
// the same caller again makes no system call (the small-op path stays cheap).
void BecomeCaller(const Identity& id);
// Makes this thread act as root again, for what needs root's rights: resolving handles
// (open_by_handle_at needs CAP_DAC_READ_SEARCH) and reopening files whose access the server
// has already checked itself.
void BecomeRoot();

// Raises one capability in this thread's effective set (from its permitted set) for the
// scope's life: setting a non-zero fsuid clears the file system capabilities, and an operation
// may need one back (LINK: CAP_FOWNER). Lowered again at the end of the scope if the scope
// raised it (a caller with fsuid 0 has it already and keeps it). A process without it in its
// permitted set runs the scope without it (logged once).
class CapabilityScope {
 public:
  explicit CapabilityScope(int capability);
  ~CapabilityScope();
  CapabilityScope(const CapabilityScope&) = delete;
  CapabilityScope& operator=(const CapabilityScope&) = delete;

 private:
  int capability_;
  bool raised_;
};

// MayAccess (common/identity.h) for a stat result.
bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override);

}  // namespace manifold::ds
