// Stateid encoding, the special stateids and the seqid rules (RFC 8881 8.2).
#include "state/stateid.h"

#include <gtest/gtest.h>

#include <cstring>

#include "state/status_names.h"

namespace manifold::state {
namespace {

#define EXPECT_STAT(want, got) EXPECT_STREQ(Nfs4StatName(want), Nfs4StatName(got))

stateid4 Special(uint32_t seqid, uint8_t fill) {
  stateid4 s{};
  s.seqid = seqid;
  std::memset(s.other, fill, sizeof(s.other));
  return s;
}

TEST(Stateid, OtherCarriesEpochTypeAndIdAndRoundTrips) {
  StateidOther in{0x01020304, StateidType::kLayout, 0x00aabbccddeeff11ull};
  stateid4 s = MakeStateid(in, 42);
  EXPECT_EQ(42u, s.seqid);
  auto out = ParseStateidOther(s);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(in.epoch, out->epoch);
  EXPECT_EQ(in.type, out->type);
  EXPECT_EQ(in.id, out->id);
  EXPECT_EQ(0x01, static_cast<uint8_t>(s.other[0]));  // big-endian epoch first
  EXPECT_EQ(4, s.other[4]);                           // type byte
}

TEST(Stateid, AnUnknownTypeByteIsNotOurs) {
  stateid4 s = MakeStateid({5, StateidType::kOpen, 1}, 1);
  s.other[4] = 9;
  EXPECT_FALSE(ParseStateidOther(s).has_value());
}

TEST(Stateid, IssuedStateidsAreNeverSpecial) {
  // Valid epochs are never 0 or all ones, so `other` is never all zeros or all ones.
  EXPECT_FALSE(IsValidBootEpoch(0));
  EXPECT_FALSE(IsValidBootEpoch(~0u));
  stateid4 s = MakeStateid({1, StateidType::kOpen, 0}, 0);
  EXPECT_FALSE(IsSpecialStateid(s));
  EXPECT_FALSE(IsAnonymousStateid(s));
}

TEST(Stateid, SpecialStateidsOf8_2_3AreRecognised) {
  EXPECT_TRUE(IsAnonymousStateid(Special(0, 0)));
  EXPECT_TRUE(IsReadBypassStateid(Special(~0u, 0xff)));
  EXPECT_TRUE(IsCurrentStateid(Special(1, 0)));
  EXPECT_TRUE(IsInvalidStateid(Special(NFS4_UINT32_MAX, 0)));
  EXPECT_TRUE(IsInvalidStateid(InvalidStateid()));
  // Other combinations are special (all-zero or all-one other) but none of the named ones.
  stateid4 odd = Special(5, 0);
  EXPECT_TRUE(IsSpecialStateid(odd));
  EXPECT_FALSE(IsAnonymousStateid(odd) || IsCurrentStateid(odd) || IsInvalidStateid(odd));
  EXPECT_FALSE(IsReadBypassStateid(Special(0, 0xff)));
  EXPECT_FALSE(IsAnonymousStateid(Special(1, 0)));
}

TEST(Stateid, SeqidWrapsToOneNeverZero) {
  EXPECT_EQ(2u, NextSeqid(1));
  EXPECT_EQ(1u, NextSeqid(0xffffffffu));
}

TEST(Stateid, SeqidZeroIsCurrentOlderIsOldNewerIsBad) {
  EXPECT_STAT(NFS4_OK, CheckStateidSeqid(5, 5));
  EXPECT_STAT(NFS4_OK, CheckStateidSeqid(0, 5));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, CheckStateidSeqid(0, 5, /*zero_means_current=*/false));
  EXPECT_STAT(NFS4ERR_OLD_STATEID, CheckStateidSeqid(4, 5));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, CheckStateidSeqid(6, 5));
  // Across the wrap: 0xffffffff is older than 2.
  EXPECT_STAT(NFS4ERR_OLD_STATEID, CheckStateidSeqid(0xffffffffu, 2));
}

}  // namespace
}  // namespace manifold::state
