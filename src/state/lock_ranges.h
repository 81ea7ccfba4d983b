// Byte-range arithmetic for LOCK / LOCKT / LOCKU (RFC 8881 9.2, 9.3, 18.10.4): ranges of one
// lock-owner on one file behave as POSIX locks -- a new lock replaces the owner's own locks on
// the same bytes (atomic upgrade and downgrade, 9.3), adjacent or overlapping ranges of the same
// type merge, and an unlock of part of a range splits it.
#pragma once

#include <cstdint>
#include <vector>

#include "xdr/nfs4.h"

namespace manifold::state {

// Bytes first..last, both included. `last` == UINT64_MAX means "to the end of file".
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// RFC 8881 18.10.4 (and 18.11.4, 18.12.4): length 0 is NFS4ERR_INVAL; a length of
// NFS4_UINT64_MAX means "to the end of file"; any other length for which offset + length
// exceeds NFS4_UINT64_MAX is NFS4ERR_INVAL.
nfsstat4 RangeFromOffsetLength(offset4 offset, length4 length, ByteRange* out);
// The inverse, for LOCK4denied.
length4 LengthOf(const ByteRange& r);

inline bool Overlaps(const ByteRange& a, const ByteRange& b) {
  return a.first <= b.last && b.first <= a.last;
}

// One lock of an owner: READ_LT or WRITE_LT (blocking types are mapped to these first).
struct HeldRange {
  ByteRange range;
  nfs_lock_type4 type = READ_LT;
  friend bool operator==(const HeldRange&, const HeldRange&) = default;
};

// Two lock types conflict unless both are read locks (9.2).
inline bool TypesConflict(nfs_lock_type4 a, nfs_lock_type4 b) {
  return a == WRITE_LT || b == WRITE_LT;
}

// `held` is one owner's locks on one file: sorted by first byte, disjoint, and merged (no two
// adjacent or overlapping ranges of the same type). Both functions keep that form.
std::vector<HeldRange> ApplyLock(const std::vector<HeldRange>& held, const ByteRange& r,
                                 nfs_lock_type4 type);
std::vector<HeldRange> ApplyUnlock(const std::vector<HeldRange>& held, const ByteRange& r);

}  // namespace manifold::state
