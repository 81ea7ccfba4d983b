// libFuzzer target: ONC RPC record marking (rpc/record.h).
//
// The input is split in two by FuzzedDataProvider: the stream bytes come from the front, the
// driving decisions (chunk sizes, whether to use the DirectBuffer/CommitDirect path, how much
// of a direct buffer to commit, when to pop) come from the back. The stream is fed to a
// RecordParser with a small record bound; popped records are checked against an independent
// reference parser run over everything that was fed, so every record must come out whole, in
// order, byte for byte, never longer than the bound, and the parser must fail exactly when
// (and only when) a record mark takes a record over the bound.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "rpc/record.h"

namespace {

constexpr size_t kRecordBytesMax = 64 * 1024;

#define FUZZ_CHECK(cond)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "fuzz_record_marking: check failed: %s (line %d)\n", #cond, \
                   __LINE__);                                                    \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

// What a correct parser must have produced after seeing exactly `s`.
struct Expected {
  std::vector<std::vector<uint8_t>> records;
  bool failed = false;
  size_t body_remaining = 0;  // of the fragment being read when `s` ends
};

Expected Reference(const std::vector<uint8_t>& s, size_t bound) {
  Expected e;
  std::vector<uint8_t> cur;
  size_t pos = 0;
  while (s.size() - pos >= 4) {
    uint32_t mark = (uint32_t(s[pos]) << 24) | (uint32_t(s[pos + 1]) << 16) |
                    (uint32_t(s[pos + 2]) << 8) | uint32_t(s[pos + 3]);
    pos += 4;
    bool last = (mark & 0x80000000u) != 0;
    size_t len = mark & 0x7fffffffu;
    if (cur.size() + len > bound) {
      e.failed = true;
      return e;
    }
    size_t have = std::min(len, s.size() - pos);
    cur.insert(cur.end(), s.begin() + pos, s.begin() + pos + have);
    pos += have;
    if (have < len) {
      e.body_remaining = len - have;
      return e;
    }
    if (last) {
      e.records.push_back(std::move(cur));
      cur.clear();
    }
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  manifold::rpc::RecordParser parser(kRecordBytesMax);
  std::vector<uint8_t> fed;
  std::vector<std::vector<uint8_t>> popped;
  bool saw_error = false;

  auto pop_all = [&] {
    std::vector<uint8_t> rec;
    while (parser.Pop(rec)) {
      FUZZ_CHECK(rec.size() <= kRecordBytesMax);
      popped.push_back(std::move(rec));
    }
    FUZZ_CHECK(parser.ready_count() == 0);
  };

  while (fdp.remaining_bytes() > 0) {
    uint8_t op = fdp.ConsumeIntegral<uint8_t>();
    size_t chunk = fdp.ConsumeIntegralInRange<size_t>(0, 300);
    std::vector<uint8_t> bytes = fdp.ConsumeBytes<uint8_t>(chunk);
    if (bytes.empty() && fdp.remaining_bytes() == 0) break;

    if ((op & 1) && parser.body_remaining() > 0 && !parser.failed()) {
      // Zero-copy path: read straight into the parser's buffer, possibly less than offered.
      std::span<uint8_t> direct = parser.DirectBuffer();
      FUZZ_CHECK(direct.size() == parser.body_remaining());
      size_t n = std::min(direct.size(), bytes.size());
      if (op & 2) n = n / 2;  // a short read
      if (n > 0) std::memcpy(direct.data(), bytes.data(), n);
      parser.CommitDirect(n);
      fed.insert(fed.end(), bytes.begin(), bytes.begin() + n);
    } else {
      manifold::Status st = parser.Consume(bytes);
      // Bytes after a failure are not part of the stream the parser accepted; stop feeding.
      if (!st.ok()) {
        FUZZ_CHECK(parser.failed());
        saw_error = true;
        // Only the bytes up to the failing mark count; the reference finds the same point.
        fed.insert(fed.end(), bytes.begin(), bytes.end());
        break;
      }
      FUZZ_CHECK(!parser.failed());
      fed.insert(fed.end(), bytes.begin(), bytes.end());
    }
    if (op & 4) pop_all();
  }
  pop_all();

  Expected want = Reference(fed, kRecordBytesMax);
  FUZZ_CHECK(want.failed == saw_error);
  FUZZ_CHECK(parser.failed() == saw_error);
  if (saw_error) {
    // A failed parser stays failed and consumes nothing more.
    uint8_t more[8] = {0x80, 0, 0, 4, 1, 2, 3, 4};
    FUZZ_CHECK(!parser.Consume(more).ok());
    FUZZ_CHECK(parser.DirectBuffer().empty());
    std::vector<uint8_t> rec;
    FUZZ_CHECK(!parser.Pop(rec));
  } else {
    FUZZ_CHECK(parser.body_remaining() == want.body_remaining);
  }
  // Every record completed before the end (or before the failing mark) came out, whole.
  FUZZ_CHECK(popped.size() == want.records.size());
  for (size_t i = 0; i < popped.size(); ++i) FUZZ_CHECK(popped[i] == want.records[i]);
  return 0;
}
