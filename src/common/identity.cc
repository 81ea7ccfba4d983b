#include "common/identity.h"

#include <algorithm>

namespace manifold {

bool Identity::InGroup(uint32_t g) const {
  return g == gid || std::find(gids.begin(), gids.end(), g) != gids.end();
}

uint32_t WithoutSetIdBits(uint32_t mode) {
  constexpr uint32_t kSetUid = 04000, kSetGid = 02000, kGroupExec = 00010;
  mode &= ~kSetUid;
  if (mode & kGroupExec) mode &= ~kSetGid;
  return mode;
}

void SquashRoot(Identity& id) {
  if (id.uid == 0) id.uid = kAnonymousId;
  if (id.gid == 0) id.gid = kAnonymousId;
  for (uint32_t& g : id.gids) {
    if (g == 0) g = kAnonymousId;
  }
}

bool MayAccess(const Identity& id, uint32_t file_uid, uint32_t file_gid, uint32_t mode,
               bool is_dir, uint32_t want, bool owner_override) {
  if (id.uid == 0) {
    if ((want & kMayExec) && !is_dir && !(mode & 0111)) return false;
    return true;
  }
  if (owner_override && id.uid == file_uid && !(want & kMayExec)) return true;
  uint32_t bits;
  if (id.uid == file_uid) {
    bits = (mode >> 6) & 7;
  } else if (id.InGroup(file_gid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  return (bits & want) == want;
}

}  // namespace manifold
