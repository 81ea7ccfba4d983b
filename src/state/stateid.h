// Stateids (RFC 8881 8.2): the 16-byte stateid4 {seqid, other[12]} and the special values.
//
// Layout of `other` for stateids this server issues:
//   bytes 0..3   boot epoch (big-endian): which server instance issued it. The MDS keeps a
//                durable boot counter; 0 and 0xffffffff are never used, so no issued stateid
//                can look like a special one (all-zero or all-one `other`, 8.2.3).
//   byte  4      type: open, lock, delegation, layout (8.2.1).
//   bytes 5..11  a 56-bit id, unique among all stateids of this boot.
#pragma once

#include <cstdint>
#include <optional>

#include "xdr/nfs4.h"

namespace manifold::state {

enum class StateidType : uint8_t { kOpen = 1, kLock = 2, kDelegation = 3, kLayout = 4 };

const char* StateidTypeName(StateidType type);

inline constexpr uint64_t kStateidIdMax = (uint64_t{1} << 56) - 1;

// True for an epoch a server instance may use.
inline constexpr bool IsValidBootEpoch(uint32_t epoch) { return epoch != 0 && epoch != ~0u; }

struct StateidOther {
  uint32_t epoch = 0;
  StateidType type = StateidType::kOpen;
  uint64_t id = 0;
};

stateid4 MakeStateid(const StateidOther& other, uint32_t seqid);
// nullopt when `other` cannot have been issued by any instance of this server (unknown type).
std::optional<StateidOther> ParseStateidOther(const stateid4& stateid);

// ---- special stateids (RFC 8881 8.2.3) ----
// Anonymous: seqid 0, other all zeros.
bool IsAnonymousStateid(const stateid4& s);
// READ bypass: seqid and other all ones.
bool IsReadBypassStateid(const stateid4& s);
// Current stateid: seqid 1, other all zeros. The compound loop substitutes the current
// stateid of the COMPOUND (16.2.3.1.2) before any state function sees it.
bool IsCurrentStateid(const stateid4& s);
// Invalid: seqid NFS4_UINT32_MAX, other all zeros. Never valid; CLOSE returns it (18.2.4).
bool IsInvalidStateid(const stateid4& s);
// `other` all zeros or all ones: one of the above, or a combination 8.2.3 makes
// NFS4ERR_BAD_STATEID.
bool IsSpecialStateid(const stateid4& s);
stateid4 InvalidStateid();

// The seqid after `seqid` (8.2.2: it wraps from 0xffffffff to 1; 0 is never used).
inline uint32_t NextSeqid(uint32_t seqid) { return seqid == ~0u ? 1 : seqid + 1; }

// RFC 8881 8.2.2 for a stateid whose `other` names live state with seqid `current`: seqid 0
// means "the current one" in NFSv4.1 (when `zero_means_current`); an older seqid is
// NFS4ERR_OLD_STATEID; a seqid the server has not issued yet is NFS4ERR_BAD_STATEID.
nfsstat4 CheckStateidSeqid(uint32_t presented, uint32_t current, bool zero_means_current = true);

}  // namespace manifold::state
