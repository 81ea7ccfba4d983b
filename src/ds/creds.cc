#include "ds/creds.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

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

bool MayAccess(const Identity& id, const struct stat& st, uint32_t want, bool owner_override) {
  return manifold::MayAccess(id, st.st_uid, st.st_gid, st.st_mode & 07777, S_ISDIR(st.st_mode),
                             want, owner_override);
}

}  // namespace manifold::ds
