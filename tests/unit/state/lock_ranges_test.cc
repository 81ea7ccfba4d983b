// POSIX byte-range arithmetic (RFC 8881 9.2, 9.3, 18.10.4), including a randomized comparison
// against a byte-by-byte model. The seed is printed; MANIFOLD_TEST_SEED=<n> replays one.
#include "state/lock_ranges.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "state/status_names.h"

namespace manifold::state {
namespace {

#define EXPECT_STAT(want, got) EXPECT_STREQ(Nfs4StatName(want), Nfs4StatName(got))
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(LockRanges, LengthZeroAndOverflowAreInval) {
  ByteRange r;
  EXPECT_STAT(NFS4ERR_INVAL, RangeFromOffsetLength(0, 0, &r));
  EXPECT_STAT(NFS4ERR_INVAL, RangeFromOffsetLength(10, kMax - 9, &r));  // 10 + len = 2^64
  EXPECT_STAT(NFS4_OK, RangeFromOffsetLength(10, kMax - 10, &r));       // ends at 2^64 - 1
  EXPECT_EQ((ByteRange{10, kMax - 1}), r);
}

TEST(LockRanges, AllOnesLengthMeansToEndOfFile) {
  ByteRange r;
  ASSERT_STREQ("NFS4_OK", Nfs4StatName(RangeFromOffsetLength(kMax - 1, NFS4_UINT64_MAX, &r)));
  EXPECT_EQ((ByteRange{kMax - 1, kMax}), r);
  EXPECT_EQ(NFS4_UINT64_MAX, LengthOf(r));
  EXPECT_EQ(5u, LengthOf({10, 14}));
}

TEST(LockRanges, SameTypeNeighboursMerge) {
  std::vector<HeldRange> held = ApplyLock({}, {0, 9}, READ_LT);
  held = ApplyLock(held, {10, 19}, READ_LT);  // adjacent
  held = ApplyLock(held, {15, 29}, READ_LT);  // overlapping
  EXPECT_EQ((std::vector<HeldRange>{{{0, 29}, READ_LT}}), held);
}

TEST(LockRanges, UpgradeInTheMiddleSplitsIntoThree) {
  std::vector<HeldRange> held = ApplyLock({}, {0, 99}, READ_LT);
  held = ApplyLock(held, {40, 59}, WRITE_LT);
  EXPECT_EQ((std::vector<HeldRange>{{{0, 39}, READ_LT}, {{40, 59}, WRITE_LT}, {{60, 99}, READ_LT}}),
            held);
  // Downgrading the middle back merges everything again.
  held = ApplyLock(held, {40, 59}, READ_LT);
  EXPECT_EQ((std::vector<HeldRange>{{{0, 99}, READ_LT}}), held);
}

TEST(LockRanges, PartialUnlockSplitsAndUnlockToEofClears) {
  std::vector<HeldRange> held = ApplyLock({}, {0, kMax}, WRITE_LT);
  held = ApplyUnlock(held, {100, 199});
  EXPECT_EQ((std::vector<HeldRange>{{{0, 99}, WRITE_LT}, {{200, kMax}, WRITE_LT}}), held);
  held = ApplyUnlock(held, {50, kMax});
  EXPECT_EQ((std::vector<HeldRange>{{{0, 49}, WRITE_LT}}), held);
  EXPECT_TRUE(ApplyUnlock(held, {0, kMax}).empty());
}

TEST(LockRanges, RangesEndingAtTheLastByteDoNotOverflowWhenMerging) {
  std::vector<HeldRange> held = ApplyLock({}, {kMax - 5, kMax}, READ_LT);
  held = ApplyLock(held, {0, 3}, READ_LT);
  EXPECT_EQ(2u, held.size());
  EXPECT_EQ(kMax, held.back().range.last);
}

// Model: 64 bytes, each unlocked (0), read (1) or write (2).
TEST(LockRanges, RandomOperationsMatchAByteModel) {
  uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("MANIFOLD_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("LockRanges.RandomOperationsMatchAByteModel seed=%llu\n",
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  std::vector<int> model(64, 0);
  std::vector<HeldRange> held;
  for (int step = 0; step < 5000; ++step) {
    uint64_t a = rng() % 64, b = rng() % 64;
    ByteRange r{std::min(a, b), std::max(a, b)};
    int op = static_cast<int>(rng() % 3);
    if (op == 2) {
      held = ApplyUnlock(held, r);
    } else {
      held = ApplyLock(held, r, op == 0 ? READ_LT : WRITE_LT);
    }
    for (uint64_t i = r.first; i <= r.last; ++i) model[i] = op == 2 ? 0 : op + 1;
    std::vector<int> seen(64, 0);
    for (size_t k = 0; k < held.size(); ++k) {
      const HeldRange& h = held[k];
      ASSERT_LE(h.range.first, h.range.last) << "seed " << seed;
      if (k > 0) {
        const HeldRange& p = held[k - 1];
        ASSERT_LT(p.range.last, h.range.first) << "not sorted/disjoint, seed " << seed;
        ASSERT_FALSE(p.type == h.type && p.range.last + 1 == h.range.first)
            << "unmerged neighbours, seed " << seed;
      }
      for (uint64_t i = h.range.first; i <= h.range.last; ++i) seen[i] = h.type == READ_LT ? 1 : 2;
    }
    ASSERT_EQ(model, seen) << "step " << step << " seed " << seed;
  }
}

}  // namespace
}  // namespace manifold::state
