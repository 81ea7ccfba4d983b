#include "state/lock_ranges.h"

#include <algorithm>
#include <limits>

namespace manifold::state {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The parts of `held` outside `r`, in order.
std::vector<HeldRange> Subtract(const std::vector<HeldRange>& held, const ByteRange& r) {
  std::vector<HeldRange> out;
  out.reserve(held.size() + 1);
  for (const HeldRange& h : held) {
    if (!Overlaps(h.range, r)) {
      out.push_back(h);
      continue;
    }
    if (h.range.first < r.first) out.push_back({{h.range.first, r.first - 1}, h.type});
    if (h.range.last > r.last) out.push_back({{r.last + 1, h.range.last}, h.type});
  }
  return out;
}

bool Adjacent(const ByteRange& a, const ByteRange& b) {
  return a.last != kMax && a.last + 1 == b.first;
}

// Sorted input; merges neighbours of the same type that touch or overlap.
std::vector<HeldRange> Merge(std::vector<HeldRange> v) {
  std::sort(v.begin(), v.end(),
            [](const HeldRange& a, const HeldRange& b) { return a.range.first < b.range.first; });
  std::vector<HeldRange> out;
  for (const HeldRange& h : v) {
    if (!out.empty() && out.back().type == h.type &&
        (Overlaps(out.back().range, h.range) || Adjacent(out.back().range, h.range))) {
      out.back().range.last = std::max(out.back().range.last, h.range.last);
      continue;
    }
    out.push_back(h);
  }
  return out;
}

}  // namespace

nfsstat4 RangeFromOffsetLength(offset4 offset, length4 length, ByteRange* out) {
  if (length == 0) return NFS4ERR_INVAL;
  if (length == NFS4_UINT64_MAX) {
    *out = {offset, kMax};
    return NFS4_OK;
  }
  if (length > kMax - offset) return NFS4ERR_INVAL;  // offset + length > NFS4_UINT64_MAX
  *out = {offset, offset + length - 1};
  return NFS4_OK;
}

length4 LengthOf(const ByteRange& r) {
  if (r.last == kMax) return NFS4_UINT64_MAX;
  return r.last - r.first + 1;
}

std::vector<HeldRange> ApplyLock(const std::vector<HeldRange>& held, const ByteRange& r,
                                 nfs_lock_type4 type) {
  std::vector<HeldRange> out = Subtract(held, r);
  out.push_back({r, type});
  return Merge(std::move(out));
}

std::vector<HeldRange> ApplyUnlock(const std::vector<HeldRange>& held, const ByteRange& r) {
  return Subtract(held, r);
}

}  // namespace manifold::state
