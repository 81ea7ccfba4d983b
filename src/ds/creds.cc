#include "ds/creds.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

#include "common/check.h"

namespace manifold::ds {

Identity IdentityFor(const rpc::Credential& cred, bool root_squash) {
  Identity id;
  if (cred.flavor != rpc::AuthFlavor::kSys) return id;
  id.uid = cred.sys.uid;
  id.gid = cred.sys.gid;
  id.gids = cred.sys.gids;
  if (root_squash) SquashRoot(id);
  return id;
}

namespace {

// What this thread's file system identity is now.
struct ThreadIdentity {
  bool root = true;
  Identity id;
};
thread_local ThreadIdentity current;

}  // namespace

void BecomeCaller(const Identity& id) {
  if (!current.root && current.id == id) return;
  std::vector<gid_t> groups(id.gids.begin(), id.gids.end());
  // Order matters: groups and fsgid while still privileged, fsuid last.
  if (!current.root) BecomeRoot();
  MANIFOLD_CHECK(::syscall(SYS_setgroups, groups.size(), groups.data()) == 0);
  ::syscall(SYS_setfsgid, id.gid);
  ::syscall(SYS_setfsuid, id.uid);
  current.root = false;
  current.id = id;
}

void BecomeRoot() {
  if (current.root) return;
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  MANIFOLD_CHECK(::syscall(SYS_setgroups, 0, nullptr) == 0);
  current.root = true;
}

namespace {

// Raises or lowers `capability` in this thread's effective set. True when this call changed
// it; false when it was so already, or when the kernel refused (a capability the process was
// started without, e.g. dropped by its container or service manager: logged once).
bool SetEffective(int capability, bool raise) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};  // pid 0: this thread
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  uint32_t& effective = data[CAP_TO_INDEX(capability)].effective;
  if (((effective & CAP_TO_MASK(capability)) != 0) == raise) return false;
  if (raise) {
    effective |= CAP_TO_MASK(capability);
  } else {
    effective &= ~CAP_TO_MASK(capability);
  }
  if (::syscall(SYS_capset, &header, data) != 0) {
    static std::once_flag logged;
    std::call_once(logged, [&] {
      spdlog::warn("capability {} cannot be {} ({}): operations that need it run without it",
                   capability, raise ? "raised" : "lowered", std::strerror(errno));
    });
    return false;
  }
  return true;
}

}  // namespace

CapabilityScope::CapabilityScope(int capability)
    : capability_(capability), raised_(SetEffective(capability, true)) {}

CapabilityScope::~CapabilityScope() {
  if (raised_) SetEffective(capability_, false);
}

bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override) {
  return manifold::MayAccess(id, st.st_uid, st.st_gid, st.st_mode & 07777, S_ISDIR(st.st_mode),
                             want, owner_override);
}

}  // namespace manifold::ds
