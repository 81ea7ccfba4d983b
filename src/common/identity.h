// A caller's identity (from AUTH_SYS) and the POSIX mode-bit check servers apply with it.
#pragma once

#include <cstdint>
#include <vector>

namespace manifold {

// uid/gid for AUTH_NONE and for root when root squash is on.
inline constexpr uint32_t kAnonymousId = 65534;

struct Identity {
  uint32_t uid = kAnonymousId;
  uint32_t gid = kAnonymousId;
  std::vector<uint32_t> gids;
  bool InGroup(uint32_t g) const;
  bool is_root() const { return uid == 0; }
  bool operator==(const Identity&) const = default;
};

// Root squash as exports(5) defines it: uid 0 and gid 0 (also among the groups) become the
// anonymous ids, so a client's root cannot act as root or as the root group.
void SquashRoot(Identity& id);

enum AccessBits : uint32_t { kMayRead = 4, kMayWrite = 2, kMayExec = 1 };

// Mode-bit check as an NFS server does it: root may do anything except execute a file with
// no execute bit; with `owner_override` the owner may read and write their own file whatever
// its mode (a client that opened a file before a chmod keeps working, as with a local fd).
bool MayAccess(const Identity& id, uint32_t file_uid, uint32_t file_gid, uint32_t mode,
               bool is_dir, uint32_t want, bool owner_override);

// `mode` after a write, a truncate or a new owner drops its set-id bits, as Linux's
// should_remove_suid has it: S_ISUID goes; S_ISGID goes when group-execute is set (without
// it, S_ISGID marks mandatory locking, not set-group-ID). Other bits, the type's too, stay.
uint32_t WithoutSetIdBits(uint32_t mode);

}  // namespace manifold
