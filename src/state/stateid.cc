#include "state/stateid.h"

#include <cstring>

namespace manifold::state {
namespace {

bool OtherIsAll(const stateid4& s, uint8_t byte) {
  for (char c : s.other) {
    if (static_cast<uint8_t>(c) != byte) return false;
  }
  return true;
}

}  // namespace

const char* StateidTypeName(StateidType type) {
  switch (type) {
    case StateidType::kOpen:
      return "open";
    case StateidType::kLock:
      return "lock";
    case StateidType::kDelegation:
      return "delegation";
    case StateidType::kLayout:
      return "layout";
  }
  return "unknown";
}

stateid4 MakeStateid(const StateidOther& other, uint32_t seqid) {
  stateid4 s{};
  s.seqid = seqid;
  auto* o = reinterpret_cast<uint8_t*>(s.other);
  for (int i = 0; i < 4; ++i) o[i] = static_cast<uint8_t>(other.epoch >> (24 - 8 * i));
  o[4] = static_cast<uint8_t>(other.type);
  for (int i = 0; i < 7; ++i) o[5 + i] = static_cast<uint8_t>(other.id >> (48 - 8 * i));
  return s;
}

std::optional<StateidOther> ParseStateidOther(const stateid4& stateid) {
  const auto* o = reinterpret_cast<const uint8_t*>(stateid.other);
  StateidOther out;
  for (int i = 0; i < 4; ++i) out.epoch = (out.epoch << 8) | o[i];
  if (o[4] < static_cast<uint8_t>(StateidType::kOpen) ||
      o[4] > static_cast<uint8_t>(StateidType::kLayout)) {
    return std::nullopt;
  }
  out.type = static_cast<StateidType>(o[4]);
  for (int i = 0; i < 7; ++i) out.id = (out.id << 8) | o[5 + i];
  return out;
}

bool IsAnonymousStateid(const stateid4& s) { return s.seqid == 0 && OtherIsAll(s, 0); }
bool IsReadBypassStateid(const stateid4& s) { return s.seqid == ~0u && OtherIsAll(s, 0xff); }
bool IsCurrentStateid(const stateid4& s) { return s.seqid == 1 && OtherIsAll(s, 0); }
bool IsInvalidStateid(const stateid4& s) { return s.seqid == ~0u && OtherIsAll(s, 0); }
bool IsSpecialStateid(const stateid4& s) { return OtherIsAll(s, 0) || OtherIsAll(s, 0xff); }

stateid4 InvalidStateid() {
  stateid4 s{};
  s.seqid = NFS4_UINT32_MAX;
  return s;
}

nfsstat4 CheckStateidSeqid(uint32_t presented, uint32_t current, bool zero_means_current) {
  if (presented == current) return NFS4_OK;
  if (presented == 0) return zero_means_current ? NFS4_OK : NFS4ERR_BAD_STATEID;
  // Serial-number comparison so that a wrapped counter still orders old before new.
  if (static_cast<int32_t>(presented - current) < 0) return NFS4ERR_OLD_STATEID;
  return NFS4ERR_BAD_STATEID;
}

}  // namespace manifold::state
