// RecordParser: ONC RPC record marking over TCP (RFC 5531 section 11). A record is a sequence
// of fragments, each behind a 4-byte mark (bit 31: last fragment, bits 0..30: length).

#include "rpc/record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "rpc/xdr_codec.h"

// ---------------------------------------------------------------------------------------------
// Allocation probe: malloc is interposed for the whole process, so while armed it records the
// largest request; a test proves that a hostile record length is refused before anything of
// that size is allocated (std::vector allocates through operator new, which calls malloc).
extern "C" void* __libc_malloc(size_t);

namespace {
std::atomic<bool> g_armed{false};
std::atomic<size_t> g_largest{0};

void Note(size_t n) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  size_t prev = g_largest.load(std::memory_order_relaxed);
  while (n > prev && !g_largest.compare_exchange_weak(prev, n)) {
  }
}

struct ArmProbe {
  ArmProbe() {
    g_largest = 0;
    g_armed = true;
  }
  ~ArmProbe() { g_armed = false; }
};
}  // namespace

extern "C" void* malloc(size_t n) noexcept {
  Note(n);
  return __libc_malloc(n);
}

namespace manifold::rpc {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Body(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

// Appends one fragment (mark + body) to `stream`.
void AppendFragment(Bytes& stream, const Bytes& body, bool last) {
  uint8_t mark[4];
  PutU32(mark, (last ? kLastFragmentBit : 0) | uint32_t(body.size()));
  stream.insert(stream.end(), mark, mark + 4);
  stream.insert(stream.end(), body.begin(), body.end());
}

// Appends `record` as fragments of the given sizes (which must add up to the record).
void AppendRecord(Bytes& stream, const Bytes& record, const std::vector<size_t>& sizes) {
  size_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Bytes part(record.begin() + at, record.begin() + at + sizes[i]);
    AppendFragment(stream, part, i + 1 == sizes.size());
    at += sizes[i];
  }
  ASSERT_EQ(at, record.size());
}

std::vector<Bytes> PopAll(RecordParser& p) {
  std::vector<Bytes> out;
  Bytes r;
  while (p.Pop(r)) out.push_back(r);
  return out;
}

TEST(RecordParserTest, OneLastFragmentIsOneRecord) {
  Bytes rec = Body(100, 1), stream;
  AppendFragment(stream, rec, true);
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(stream).ok());
  EXPECT_EQ(p.ready_count(), 1u);
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], rec);
  EXPECT_EQ(p.body_remaining(), 0u);
  Bytes none;
  EXPECT_FALSE(p.Pop(none));
}

TEST(RecordParserTest, ManyFragmentsJoinIntoOneRecord) {
  Bytes rec = Body(1000, 2), stream;
  AppendRecord(stream, rec, {1, 3, 4, 100, 392, 500});
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(stream).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], rec);
}

TEST(RecordParserTest, NonLastFragmentAloneIsNotARecordYet) {
  Bytes stream;
  AppendFragment(stream, Body(10, 3), false);
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(stream).ok());
  EXPECT_EQ(p.ready_count(), 0u);
}

// Two records with several fragments each, split into two pieces at every byte boundary, and
// also fed one byte at a time: the records come out the same every time.
TEST(RecordParserTest, RecordSplitAtEveryByteBoundaryParsesTheSame) {
  Bytes a = Body(37, 4), b = Body(18, 5), stream;
  AppendRecord(stream, a, {5, 0, 32});
  AppendRecord(stream, b, {1, 17});
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    RecordParser p(1 << 20);
    ASSERT_TRUE(p.Consume({stream.data(), cut}).ok());
    ASSERT_TRUE(p.Consume({stream.data() + cut, stream.size() - cut}).ok());
    auto got = PopAll(p);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], a);
    EXPECT_EQ(got[1], b);
  }
  RecordParser p(1 << 20);
  for (uint8_t byte : stream) ASSERT_TRUE(p.Consume({&byte, 1}).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
}

TEST(RecordParserTest, BackToBackRecordsInOneBufferComeOutInOrder) {
  std::vector<Bytes> recs = {Body(8, 6), Body(1, 7), Body(300, 8), Body(4, 9)};
  Bytes stream;
  AppendRecord(stream, recs[0], {8});
  AppendRecord(stream, recs[1], {1});
  AppendRecord(stream, recs[2], {100, 200});
  AppendRecord(stream, recs[3], {2, 2});
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(stream).ok());
  EXPECT_EQ(p.ready_count(), 4u);
  EXPECT_EQ(PopAll(p), recs);
}

TEST(RecordParserTest, ZeroLengthFragmentsAreAccepted) {
  Bytes rec = Body(12, 10), stream;
  // Empty non-last fragments before, between and an empty last fragment closing the record.
  AppendFragment(stream, {}, false);
  AppendFragment(stream, Bytes(rec.begin(), rec.begin() + 6), false);
  AppendFragment(stream, {}, false);
  AppendFragment(stream, Bytes(rec.begin() + 6, rec.end()), false);
  AppendFragment(stream, {}, true);
  // A record that is a single empty last fragment is an empty record.
  AppendFragment(stream, {}, true);
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(stream).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], rec);
  EXPECT_TRUE(got[1].empty());
}

// The server's large-fragment path: read socket bytes straight into the record.
TEST(RecordParserTest, DirectBufferAndCommitDirectFillAFragment) {
  Bytes rec = Body(10000, 11), stream;
  AppendRecord(stream, rec, {4000, 6000});
  Bytes next = Body(20, 12);
  AppendRecord(stream, next, {20});

  RecordParser p(1 << 20);
  EXPECT_TRUE(p.DirectBuffer().empty()) << "no fragment body in progress yet";
  // Header of fragment 1 and its first 100 bytes through Consume.
  ASSERT_TRUE(p.Consume({stream.data(), 4 + 100}).ok());
  EXPECT_EQ(p.body_remaining(), 3900u);
  size_t at = 4 + 100;

  // Rest of fragment 1 in two direct reads.
  auto direct = p.DirectBuffer();
  ASSERT_EQ(direct.size(), 3900u);
  std::memcpy(direct.data(), stream.data() + at, 1000);
  p.CommitDirect(1000);
  at += 1000;
  EXPECT_EQ(p.body_remaining(), 2900u);
  direct = p.DirectBuffer();
  ASSERT_EQ(direct.size(), 2900u);
  std::memcpy(direct.data(), stream.data() + at, 2900);
  p.CommitDirect(2900);
  at += 2900;
  EXPECT_EQ(p.body_remaining(), 0u);
  EXPECT_TRUE(p.DirectBuffer().empty()) << "between fragments there is no body to fill";
  EXPECT_EQ(p.ready_count(), 0u);

  // Header of fragment 2 through Consume, then its whole body directly, with a short read of
  // zero bytes on the way (a read that returned nothing must not disturb the record).
  ASSERT_TRUE(p.Consume({stream.data() + at, 4}).ok());
  at += 4;
  direct = p.DirectBuffer();
  ASSERT_EQ(direct.size(), 6000u);
  p.CommitDirect(0);
  direct = p.DirectBuffer();
  ASSERT_EQ(direct.size(), 6000u);
  std::memcpy(direct.data(), stream.data() + at, 6000);
  p.CommitDirect(6000);
  at += 6000;
  EXPECT_EQ(p.ready_count(), 1u);

  // The following record through Consume again.
  ASSERT_TRUE(p.Consume({stream.data() + at, stream.size() - at}).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], rec);
  EXPECT_EQ(got[1], next);
}

// A large fragment is offered kDirectReadBytesFirst at first, then at most as much as the
// record holds: a peer that announces a large record and sends little makes the record grow by
// at most twice what it sent plus kDirectReadBytesFirst, not by the whole announced length.
TEST(RecordParserTest, DirectBufferOffersAtMostWhatTheRecordHoldsAlready) {
  const size_t first = 1000;  // through Consume, in the first fragment
  const size_t len = 8 * kDirectReadBytesFirst + 123;
  Bytes rec = Body(first + len, 21), stream;
  AppendRecord(stream, rec, {first, len});
  RecordParser p(first + len);
  ASSERT_TRUE(p.Consume({stream.data(), 4 + first + 4}).ok());
  size_t at = 4 + first + 4, held = first;
  int offers = 0;
  while (p.body_remaining() > 0) {
    auto direct = p.DirectBuffer();
    ASSERT_EQ(direct.size(),
              std::min(p.body_remaining(), std::max(kDirectReadBytesFirst, held)));
    // Half of what is offered arrives in each read.
    const size_t n = std::max<size_t>(1, direct.size() / 2);
    std::memcpy(direct.data(), stream.data() + at, n);
    p.CommitDirect(n);
    at += n;
    held += n;
    offers++;
  }
  EXPECT_GT(offers, 4);
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], rec);
}

TEST(RecordParserTest, RecordOfExactlyTheBoundIsAccepted) {
  Bytes rec = Body(4096, 13), stream;
  AppendRecord(stream, rec, {1000, 3096});
  RecordParser p(4096);
  ASSERT_TRUE(p.Consume(stream).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], rec);
}

// The probe itself sees a large allocation, so the test below can fail.
TEST(RecordParserTest, AllocationProbeSeesALargeVector) {
  ArmProbe probe;
  auto* v = new std::vector<uint8_t>(size_t(4) << 20);
  EXPECT_GE(g_largest.load(), size_t(4) << 20);
  delete v;
}

// A mark announcing a 2 GiB fragment is refused from the mark alone: nothing near that size is
// allocated, the parser stays failed, and no record comes out.
TEST(RecordParserTest, FragmentOverTheBoundFailsWithoutAllocatingIt) {
  RecordParser p(1 << 20);
  uint8_t mark[4];
  PutU32(mark, kLastFragmentBit | 0x7fffffffu);
  Status s;
  {
    ArmProbe probe;
    s = p.Consume({mark, 4});
    EXPECT_LT(g_largest.load(), size_t(1) << 20) << "allocated for a record it then refused";
  }
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kLimit) << s.ToString();
  EXPECT_TRUE(p.failed());
  EXPECT_TRUE(p.DirectBuffer().empty());
  // Further input is refused too: the stream position is lost.
  Bytes more;
  AppendFragment(more, Body(4, 14), true);
  EXPECT_FALSE(p.Consume(more).ok());
  EXPECT_EQ(p.ready_count(), 0u);
}

// Each fragment is under the bound, but together they are over it.
TEST(RecordParserTest, FragmentsAddingUpOverTheBoundFail) {
  Bytes stream;
  AppendFragment(stream, Body(3000, 15), false);
  AppendFragment(stream, Body(3000, 16), true);
  RecordParser p(5000);
  Status s = p.Consume(stream);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kLimit);
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.ready_count(), 0u);
}

// The bound is per record: many records each under it pass even if their sum is not.
TEST(RecordParserTest, BoundIsPerRecordNotPerStream) {
  Bytes stream;
  for (int i = 0; i < 10; ++i) AppendRecord(stream, Body(900, uint8_t(i)), {400, 500});
  RecordParser p(1000);
  ASSERT_TRUE(p.Consume(stream).ok());
  EXPECT_EQ(p.ready_count(), 10u);
}

TEST(RecordParserTest, WriteRecordMarkPrefixesALastFragmentMark) {
  Bytes buf(kRecordMarkBytes);
  Bytes body = Body(13, 17);
  buf.insert(buf.end(), body.begin(), body.end());
  WriteRecordMark(buf);
  EXPECT_EQ(GetU32(buf.data()), kLastFragmentBit | 13u);
  RecordParser p(1 << 20);
  ASSERT_TRUE(p.Consume(buf).ok());
  auto got = PopAll(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], body);
}

}  // namespace
}  // namespace manifold::rpc
