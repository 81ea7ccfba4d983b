#include "ds/creds.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/check.h"

namespace manifold::ds {

bool Identity::InGroup(uint32_t g) const {
  return g == gid || std::find(gids.begin(), gids.end(), g) != gids.end();
}

Identity IdentityFor(const rpc::Credential& cred, bool root_squash) {
  Identity id;
  if (cred.flavor != rpc::AuthFlavor::kSys) return id;
  id.uid = cred.sys.uid;
  id.gid = cred.sys.gid;
  id.gids = cred.sys.gids;
  if (root_squash && id.uid == 0) {
    id.uid = kAnonymousId;
    id.gid = kAnonymousId;
    id.gids.clear();
  }
  return id;
}

CredScope::CredScope(const Identity& id) {
  std::vector<gid_t> groups(id.gids.begin(), id.gids.end());
  // Order matters: groups and fsgid while still root, fsuid last.
  MANIFOLD_CHECK(::syscall(SYS_setgroups, groups.size(), groups.data()) == 0);
  ::syscall(SYS_setfsgid, id.gid);
  ::syscall(SYS_setfsuid, id.uid);
}

CredScope::~CredScope() {
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  MANIFOLD_CHECK(::syscall(SYS_setgroups, 0, nullptr) == 0);
}

bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override) {
  if (id.uid == 0) {
    if ((want & kMayExec) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) return false;
    return true;
  }
  if (owner_override && id.uid == st.st_uid && !(want & kMayExec)) return true;
  uint32_t bits;
  if (id.uid == st.st_uid) {
    bits = (st.st_mode >> 6) & 7;
  } else if (id.InGroup(st.st_gid)) {
    bits = (st.st_mode >> 3) & 7;
  } else {
    bits = st.st_mode & 7;
  }
  return (bits & want) == want;
}

}  // namespace manifold::ds
