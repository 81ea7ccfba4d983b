// Round trips through the rpcgen-generated NFSv4.2 / flexfile / callback XDR routines
// (src/xdr/nfs4.x), and proof that the explicit bounds stop a hostile count before the decoder
// allocates for it.
//
// Every round trip checks three things: the encoding has the expected wire prefix, the decoded
// value has the fields that were put in, and re-encoding the decoded value gives the same bytes.

#include "xdr/nfs4.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Allocation probe. libtirpc allocates decoded items with calloc (mem_alloc) and, on a failed
// decode, frees what it just allocated, so only the size of each REQUEST shows whether a hostile
// length was acted on. These definitions interpose malloc/calloc for the whole process (libtirpc
// included). While armed, the probe records the largest request and refuses (returns NULL,
// allocates nothing) anything above kRefuseAbove, so the unbounded control case never really
// allocates.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);

namespace {
std::atomic<bool> g_armed{false};
std::atomic<std::size_t> g_largest{0};
constexpr std::size_t kRefuseAbove = 64u << 20;

bool probe(std::size_t n) {
  if (!g_armed.load(std::memory_order_relaxed)) return true;
  std::size_t prev = g_largest.load(std::memory_order_relaxed);
  while (n > prev && !g_largest.compare_exchange_weak(prev, n)) {
  }
  return n <= kRefuseAbove;
}

// Arms the probe for its lifetime; largest() is the biggest single request seen meanwhile.
struct ArmProbe {
  ArmProbe() {
    g_largest = 0;
    g_armed = true;
  }
  ~ArmProbe() { g_armed = false; }
  std::size_t largest() const { return g_largest.load(); }
};
}  // namespace

extern "C" void* malloc(std::size_t n) noexcept { return probe(n) ? __libc_malloc(n) : nullptr; }

extern "C" void* calloc(std::size_t a, std::size_t b) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(a, b, &n)) n = SIZE_MAX;
  return probe(n) ? __libc_calloc(a, b) : nullptr;
}

namespace {

using Bytes = std::vector<char>;

// Encodes obj with proc into a fresh buffer; fails the test if encoding fails.
template <typename T>
Bytes encode(xdrproc_t proc, T* obj, std::size_t cap = 256 * 1024) {
  Bytes buf(cap);
  XDR x;
  xdrmem_create(&x, buf.data(), static_cast<u_int>(buf.size()), XDR_ENCODE);
  const bool ok = proc(&x, obj);
  const u_int len = xdr_getpos(&x);
  xdr_destroy(&x);
  EXPECT_TRUE(ok) << "encode failed";
  buf.resize(ok ? len : 0);
  return buf;
}

// Decodes bytes into *obj (which must be zero-initialised); true only if the decode succeeded
// and consumed every byte.
template <typename T>
bool decode(xdrproc_t proc, const Bytes& bytes, T* obj) {
  XDR x;
  xdrmem_create(&x, const_cast<char*>(bytes.data()), static_cast<u_int>(bytes.size()),
                XDR_DECODE);
  const bool ok = proc(&x, obj);
  const u_int pos = xdr_getpos(&x);
  xdr_destroy(&x);
  return ok && pos == bytes.size();
}

template <typename T>
void release(xdrproc_t proc, T* obj) {
  xdr_free(proc, reinterpret_cast<char*>(obj));
}

// Big-endian 32-bit words, for building and checking wire images by hand.
void put32(Bytes& b, uint32_t v) {
  const uint32_t n = htonl(v);
  const char* p = reinterpret_cast<const char*>(&n);
  b.insert(b.end(), p, p + 4);
}

uint32_t word(const Bytes& b, std::size_t index) {
  uint32_t n;
  std::memcpy(&n, b.data() + 4 * index, 4);
  return ntohl(n);
}

// Points an rpcgen utf8string at s (encode only reads it).
void set_utf8(utf8string& u, const std::string& s) {
  u.utf8string_len = static_cast<u_int>(s.size());
  u.utf8string_val = const_cast<char*>(s.data());
}

std::string str(const utf8string& u) { return std::string(u.utf8string_val, u.utf8string_len); }

void set_fh(nfs_fh4& fh, const Bytes& b) {
  fh.nfs_fh4_len = static_cast<u_int>(b.size());
  fh.nfs_fh4_val = const_cast<char*>(b.data());
}

Bytes fh_bytes(const nfs_fh4& fh) { return Bytes(fh.nfs_fh4_val, fh.nfs_fh4_val + fh.nfs_fh4_len); }

Bytes pattern(std::size_t n, int seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<char>(seed + 7 * i);
  return b;
}

stateid4 make_stateid(uint32_t seqid, int seed) {
  stateid4 s{};
  s.seqid = seqid;
  for (int i = 0; i < NFS4_OTHER_SIZE; ++i) s.other[i] = static_cast<char>(seed + i);
  return s;
}

bool same_stateid(const stateid4& a, const stateid4& b) {
  return a.seqid == b.seqid && std::memcmp(a.other, b.other, sizeof a.other) == 0;
}

// ---------------------------------------------------------------------------------------------
// (a) COMPOUND4args, minorversion 2: SEQUENCE, PUTFH, LAYOUTGET, GETATTR.
TEST(XdrNfs4, Compound4ArgsRoundTrip) {
  const std::string tag = "manifold";
  const Bytes fh = pattern(40, 3);
  uint32_t attr_words[3] = {(1u << FATTR4_TYPE) | (1u << FATTR4_CHANGE) | (1u << FATTR4_SIZE),
                            1u << (FATTR4_MODE - 32),
                            1u << (FATTR4_LAYOUT_TYPES - 64)};

  nfs_argop4 ops[4] = {};
  ops[0].argop = OP_SEQUENCE;
  SEQUENCE4args& seq = ops[0].nfs_argop4_u.opsequence;
  for (int i = 0; i < NFS4_SESSIONID_SIZE; ++i) seq.sa_sessionid[i] = static_cast<char>(0xa0 + i);
  seq.sa_sequenceid = 77;
  seq.sa_slotid = 3;
  seq.sa_highest_slotid = 15;
  seq.sa_cachethis = TRUE;

  ops[1].argop = OP_PUTFH;
  set_fh(ops[1].nfs_argop4_u.opputfh.object, fh);

  ops[2].argop = OP_LAYOUTGET;
  LAYOUTGET4args& lg = ops[2].nfs_argop4_u.oplayoutget;
  lg.loga_signal_layout_avail = FALSE;
  lg.loga_layout_type = LAYOUT4_FLEX_FILES;
  lg.loga_iomode = LAYOUTIOMODE4_RW;
  lg.loga_offset = 1ull << 33;
  lg.loga_length = NFS4_UINT64_MAX;
  lg.loga_minlength = 4096;
  lg.loga_stateid = make_stateid(1, 0x40);
  lg.loga_maxcount = 4096;

  ops[3].argop = OP_GETATTR;
  ops[3].nfs_argop4_u.opgetattr.attr_request.bitmap4_len = 3;
  ops[3].nfs_argop4_u.opgetattr.attr_request.bitmap4_val = attr_words;

  COMPOUND4args args{};
  set_utf8(args.tag, tag);
  args.minorversion = 2;
  args.argarray.argarray_len = 4;
  args.argarray.argarray_val = ops;

  const Bytes wire = encode((xdrproc_t)xdr_COMPOUND4args, &args);
  ASSERT_FALSE(wire.empty());
  // tag<>, minorversion, argarray count, first opcode.
  EXPECT_EQ(word(wire, 0), tag.size());
  EXPECT_EQ(std::string(wire.data() + 4, tag.size()), tag);
  EXPECT_EQ(word(wire, 3), 2u);            // minorversion
  EXPECT_EQ(word(wire, 4), 4u);            // argarray count
  EXPECT_EQ(word(wire, 5), 53u);           // OP_SEQUENCE
  EXPECT_EQ(OP_LAYOUTGET, 50);
  EXPECT_EQ(LAYOUT4_FLEX_FILES, 4);

  COMPOUND4args out{};
  ASSERT_TRUE(decode((xdrproc_t)xdr_COMPOUND4args, wire, &out));
  EXPECT_EQ(str(out.tag), tag);
  EXPECT_EQ(out.minorversion, 2u);
  ASSERT_EQ(out.argarray.argarray_len, 4u);
  const nfs_argop4* o = out.argarray.argarray_val;

  ASSERT_EQ(o[0].argop, OP_SEQUENCE);
  const SEQUENCE4args& s2 = o[0].nfs_argop4_u.opsequence;
  EXPECT_EQ(std::memcmp(s2.sa_sessionid, seq.sa_sessionid, NFS4_SESSIONID_SIZE), 0);
  EXPECT_EQ(s2.sa_sequenceid, 77u);
  EXPECT_EQ(s2.sa_slotid, 3u);
  EXPECT_EQ(s2.sa_highest_slotid, 15u);
  EXPECT_TRUE(s2.sa_cachethis);

  ASSERT_EQ(o[1].argop, OP_PUTFH);
  EXPECT_EQ(fh_bytes(o[1].nfs_argop4_u.opputfh.object), fh);

  ASSERT_EQ(o[2].argop, OP_LAYOUTGET);
  const LAYOUTGET4args& lg2 = o[2].nfs_argop4_u.oplayoutget;
  EXPECT_FALSE(lg2.loga_signal_layout_avail);
  EXPECT_EQ(lg2.loga_layout_type, LAYOUT4_FLEX_FILES);
  EXPECT_EQ(lg2.loga_iomode, LAYOUTIOMODE4_RW);
  EXPECT_EQ(lg2.loga_offset, 1ull << 33);
  EXPECT_EQ(lg2.loga_length, NFS4_UINT64_MAX);
  EXPECT_EQ(lg2.loga_minlength, 4096u);
  EXPECT_TRUE(same_stateid(lg2.loga_stateid, lg.loga_stateid));
  EXPECT_EQ(lg2.loga_maxcount, 4096u);

  ASSERT_EQ(o[3].argop, OP_GETATTR);
  const bitmap4& bm = o[3].nfs_argop4_u.opgetattr.attr_request;
  ASSERT_EQ(bm.bitmap4_len, 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bm.bitmap4_val[i], attr_words[i]);

  EXPECT_EQ(encode((xdrproc_t)xdr_COMPOUND4args, &out), wire);
  release((xdrproc_t)xdr_COMPOUND4args, &out);
}

// ---------------------------------------------------------------------------------------------
// (b) ff_layout4 (RFC 8435) with two mirrors, one data server each.
TEST(XdrNfs4, FlexFileLayoutRoundTrip) {
  const std::string user0 = "1000017", group0 = "1000017";
  const std::string user1 = "1000042", group1 = "1000043";
  const Bytes fh0a = pattern(32, 11), fh0b = pattern(20, 12), fh1 = pattern(64, 13);

  nfs_fh4 fhs0[2] = {};
  set_fh(fhs0[0], fh0a);
  set_fh(fhs0[1], fh0b);
  nfs_fh4 fhs1[1] = {};
  set_fh(fhs1[0], fh1);

  ff_data_server4 ds[2] = {};
  for (int m = 0; m < 2; ++m) {
    for (int i = 0; i < NFS4_DEVICEID4_SIZE; ++i) ds[m].ffds_deviceid[i] = static_cast<char>(m * 16 + i);
    ds[m].ffds_efficiency = m == 0 ? 200 : 100;
    ds[m].ffds_stateid = make_stateid(0, 0x10 * (m + 1));
  }
  ds[0].ffds_fh_vers.ffds_fh_vers_len = 2;
  ds[0].ffds_fh_vers.ffds_fh_vers_val = fhs0;
  ds[1].ffds_fh_vers.ffds_fh_vers_len = 1;
  ds[1].ffds_fh_vers.ffds_fh_vers_val = fhs1;
  set_utf8(ds[0].ffds_user, user0);
  set_utf8(ds[0].ffds_group, group0);
  set_utf8(ds[1].ffds_user, user1);
  set_utf8(ds[1].ffds_group, group1);

  ff_mirror4 mirrors[2] = {};
  for (int m = 0; m < 2; ++m) {
    mirrors[m].ffm_data_servers.ffm_data_servers_len = 1;
    mirrors[m].ffm_data_servers.ffm_data_servers_val = &ds[m];
  }

  ff_layout4 layout{};
  layout.ffl_stripe_unit = 0;
  layout.ffl_mirrors.ffl_mirrors_len = 2;
  layout.ffl_mirrors.ffl_mirrors_val = mirrors;
  layout.ffl_flags = FF_FLAGS_NO_IO_THRU_MDS | FF_FLAGS_NO_LAYOUTCOMMIT;
  layout.ffl_stats_collect_hint = 60;

  const Bytes wire = encode((xdrproc_t)xdr_ff_layout4, &layout);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(word(wire, 0), 0u);  // ffl_stripe_unit (hyper, high word)
  EXPECT_EQ(word(wire, 1), 0u);  // ffl_stripe_unit (low word)
  EXPECT_EQ(word(wire, 2), 2u);  // ffl_mirrors count
  EXPECT_EQ(word(wire, 3), 1u);  // mirror 0: ffm_data_servers count
  // Last two words: ffl_flags, ffl_stats_collect_hint.
  const std::size_t nwords = wire.size() / 4;
  EXPECT_EQ(word(wire, nwords - 2), 3u);
  EXPECT_EQ(word(wire, nwords - 1), 60u);

  ff_layout4 out{};
  ASSERT_TRUE(decode((xdrproc_t)xdr_ff_layout4, wire, &out));
  EXPECT_EQ(out.ffl_stripe_unit, 0u);
  EXPECT_EQ(out.ffl_flags, static_cast<ff_flags4>(FF_FLAGS_NO_IO_THRU_MDS | FF_FLAGS_NO_LAYOUTCOMMIT));
  EXPECT_EQ(out.ffl_stats_collect_hint, 60u);
  ASSERT_EQ(out.ffl_mirrors.ffl_mirrors_len, 2u);
  const std::string users[2] = {user0, user1}, groups[2] = {group0, group1};
  for (int m = 0; m < 2; ++m) {
    const ff_mirror4& mm = out.ffl_mirrors.ffl_mirrors_val[m];
    ASSERT_EQ(mm.ffm_data_servers.ffm_data_servers_len, 1u);
    const ff_data_server4& d = mm.ffm_data_servers.ffm_data_servers_val[0];
    EXPECT_EQ(std::memcmp(d.ffds_deviceid, ds[m].ffds_deviceid, NFS4_DEVICEID4_SIZE), 0);
    EXPECT_EQ(d.ffds_efficiency, ds[m].ffds_efficiency);
    EXPECT_TRUE(same_stateid(d.ffds_stateid, ds[m].ffds_stateid));
    EXPECT_EQ(str(d.ffds_user), users[m]);
    EXPECT_EQ(str(d.ffds_group), groups[m]);
  }
  const ff_data_server4& d0 = out.ffl_mirrors.ffl_mirrors_val[0].ffm_data_servers.ffm_data_servers_val[0];
  ASSERT_EQ(d0.ffds_fh_vers.ffds_fh_vers_len, 2u);
  EXPECT_EQ(fh_bytes(d0.ffds_fh_vers.ffds_fh_vers_val[0]), fh0a);
  EXPECT_EQ(fh_bytes(d0.ffds_fh_vers.ffds_fh_vers_val[1]), fh0b);
  const ff_data_server4& d1 = out.ffl_mirrors.ffl_mirrors_val[1].ffm_data_servers.ffm_data_servers_val[0];
  ASSERT_EQ(d1.ffds_fh_vers.ffds_fh_vers_len, 1u);
  EXPECT_EQ(fh_bytes(d1.ffds_fh_vers.ffds_fh_vers_val[0]), fh1);

  EXPECT_EQ(encode((xdrproc_t)xdr_ff_layout4, &out), wire);
  release((xdrproc_t)xdr_ff_layout4, &out);

  // The encoded ff_layout4 is what LAYOUTGET carries in layout_content4.loc_body.
  layout4 lo{};
  lo.lo_offset = 0;
  lo.lo_length = NFS4_UINT64_MAX;
  lo.lo_iomode = LAYOUTIOMODE4_RW;
  lo.lo_content.loc_type = LAYOUT4_FLEX_FILES;
  lo.lo_content.loc_body.loc_body_len = static_cast<u_int>(wire.size());
  lo.lo_content.loc_body.loc_body_val = const_cast<char*>(wire.data());
  LAYOUTGET4res res{};
  res.logr_status = NFS4_OK;
  res.LAYOUTGET4res_u.logr_resok4.logr_return_on_close = TRUE;
  res.LAYOUTGET4res_u.logr_resok4.logr_stateid = make_stateid(1, 0x70);
  res.LAYOUTGET4res_u.logr_resok4.logr_layout.logr_layout_len = 1;
  res.LAYOUTGET4res_u.logr_resok4.logr_layout.logr_layout_val = &lo;
  const Bytes reswire = encode((xdrproc_t)xdr_LAYOUTGET4res, &res);
  LAYOUTGET4res res2{};
  ASSERT_TRUE(decode((xdrproc_t)xdr_LAYOUTGET4res, reswire, &res2));
  ASSERT_EQ(res2.logr_status, NFS4_OK);
  const LAYOUTGET4resok& ok = res2.LAYOUTGET4res_u.logr_resok4;
  ASSERT_EQ(ok.logr_layout.logr_layout_len, 1u);
  const layout_content4& lc = ok.logr_layout.logr_layout_val[0].lo_content;
  EXPECT_EQ(lc.loc_type, LAYOUT4_FLEX_FILES);
  EXPECT_EQ(Bytes(lc.loc_body.loc_body_val, lc.loc_body.loc_body_val + lc.loc_body.loc_body_len), wire);
  release((xdrproc_t)xdr_LAYOUTGET4res, &res2);
}

// ---------------------------------------------------------------------------------------------
// (c) CB_COMPOUND4args holding CB_SEQUENCE and CB_LAYOUTRECALL.
TEST(XdrNfs4, CbCompound4ArgsRoundTrip) {
  const Bytes fh = pattern(28, 21);

  referring_call4 calls[2] = {{5, 1}, {9, 2}};
  referring_call_list4 rcl{};
  for (int i = 0; i < NFS4_SESSIONID_SIZE; ++i) rcl.rcl_sessionid[i] = static_cast<char>(0x30 + i);
  rcl.rcl_referring_calls.rcl_referring_calls_len = 2;
  rcl.rcl_referring_calls.rcl_referring_calls_val = calls;

  nfs_cb_argop4 ops[2] = {};
  ops[0].argop = OP_CB_SEQUENCE;
  CB_SEQUENCE4args& cs = ops[0].nfs_cb_argop4_u.opcbsequence;
  for (int i = 0; i < NFS4_SESSIONID_SIZE; ++i) cs.csa_sessionid[i] = static_cast<char>(0xc0 + i);
  cs.csa_sequenceid = 12;
  cs.csa_slotid = 0;
  cs.csa_highest_slotid = 0;
  cs.csa_cachethis = FALSE;
  cs.csa_referring_call_lists.csa_referring_call_lists_len = 1;
  cs.csa_referring_call_lists.csa_referring_call_lists_val = &rcl;

  ops[1].argop = OP_CB_LAYOUTRECALL;
  CB_LAYOUTRECALL4args& lr = ops[1].nfs_cb_argop4_u.opcblayoutrecall;
  lr.clora_type = LAYOUT4_FLEX_FILES;
  lr.clora_iomode = LAYOUTIOMODE4_ANY;
  lr.clora_changed = TRUE;
  lr.clora_recall.lor_recalltype = LAYOUTRECALL4_FILE;
  layoutrecall_file4& lf = lr.clora_recall.layoutrecall4_u.lor_layout;
  set_fh(lf.lor_fh, fh);
  lf.lor_offset = 1 << 20;
  lf.lor_length = NFS4_UINT64_MAX;
  lf.lor_stateid = make_stateid(4, 0x55);

  CB_COMPOUND4args args{};
  const std::string tag;
  set_utf8(args.tag, tag);
  args.minorversion = 2;
  args.callback_ident = 0;
  args.argarray.argarray_len = 2;
  args.argarray.argarray_val = ops;

  const Bytes wire = encode((xdrproc_t)xdr_CB_COMPOUND4args, &args);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(word(wire, 0), 0u);   // empty tag
  EXPECT_EQ(word(wire, 1), 2u);   // minorversion
  EXPECT_EQ(word(wire, 2), 0u);   // callback_ident
  EXPECT_EQ(word(wire, 3), 2u);   // argarray count
  EXPECT_EQ(word(wire, 4), 11u);  // OP_CB_SEQUENCE

  CB_COMPOUND4args out{};
  ASSERT_TRUE(decode((xdrproc_t)xdr_CB_COMPOUND4args, wire, &out));
  EXPECT_EQ(out.minorversion, 2u);
  ASSERT_EQ(out.argarray.argarray_len, 2u);
  const nfs_cb_argop4* o = out.argarray.argarray_val;

  ASSERT_EQ(o[0].argop, OP_CB_SEQUENCE);
  const CB_SEQUENCE4args& cs2 = o[0].nfs_cb_argop4_u.opcbsequence;
  EXPECT_EQ(std::memcmp(cs2.csa_sessionid, cs.csa_sessionid, NFS4_SESSIONID_SIZE), 0);
  EXPECT_EQ(cs2.csa_sequenceid, 12u);
  EXPECT_FALSE(cs2.csa_cachethis);
  ASSERT_EQ(cs2.csa_referring_call_lists.csa_referring_call_lists_len, 1u);
  const referring_call_list4& rcl2 = cs2.csa_referring_call_lists.csa_referring_call_lists_val[0];
  EXPECT_EQ(std::memcmp(rcl2.rcl_sessionid, rcl.rcl_sessionid, NFS4_SESSIONID_SIZE), 0);
  ASSERT_EQ(rcl2.rcl_referring_calls.rcl_referring_calls_len, 2u);
  EXPECT_EQ(rcl2.rcl_referring_calls.rcl_referring_calls_val[1].rc_sequenceid, 9u);
  EXPECT_EQ(rcl2.rcl_referring_calls.rcl_referring_calls_val[1].rc_slotid, 2u);

  ASSERT_EQ(o[1].argop, OP_CB_LAYOUTRECALL);
  const CB_LAYOUTRECALL4args& lr2 = o[1].nfs_cb_argop4_u.opcblayoutrecall;
  EXPECT_EQ(lr2.clora_type, LAYOUT4_FLEX_FILES);
  EXPECT_EQ(lr2.clora_iomode, LAYOUTIOMODE4_ANY);
  EXPECT_TRUE(lr2.clora_changed);
  ASSERT_EQ(lr2.clora_recall.lor_recalltype, LAYOUTRECALL4_FILE);
  const layoutrecall_file4& lf2 = lr2.clora_recall.layoutrecall4_u.lor_layout;
  EXPECT_EQ(fh_bytes(lf2.lor_fh), fh);
  EXPECT_EQ(lf2.lor_offset, 1u << 20);
  EXPECT_EQ(lf2.lor_length, NFS4_UINT64_MAX);
  EXPECT_TRUE(same_stateid(lf2.lor_stateid, lf.lor_stateid));

  EXPECT_EQ(encode((xdrproc_t)xdr_CB_COMPOUND4args, &out), wire);
  release((xdrproc_t)xdr_CB_COMPOUND4args, &out);
}

// ---------------------------------------------------------------------------------------------
// (d) Hostile counts fail to decode, and the decoder never asks for a big allocation.

// Decodes a hand-built COMPOUND4args that must fail; returns the largest single allocation the
// decoder requested on the way.
std::size_t failed_compound_decode_largest_alloc(const Bytes& wire) {
  COMPOUND4args out{};
  std::size_t largest;
  bool ok;
  {
    ArmProbe armed;
    ok = decode((xdrproc_t)xdr_COMPOUND4args, wire, &out);
    largest = armed.largest();
  }
  EXPECT_FALSE(ok);
  release((xdrproc_t)xdr_COMPOUND4args, &out);
  return largest;
}

// Bounded decodes stay far below this; an unbounded one would ask for far more.
constexpr std::size_t kSmall = 1u << 20;

TEST(XdrNfs4, HostileArgarrayCountFailsWithoutHugeAllocation) {
  Bytes wire;
  put32(wire, 0);           // tag: empty
  put32(wire, 2);           // minorversion
  put32(wire, 0x7fffffff);  // argarray count
  put32(wire, OP_PUTROOTFH);
  EXPECT_LT(failed_compound_decode_largest_alloc(wire), kSmall);
}

TEST(XdrNfs4, LargeArgarrayCountBelowOverflowFailsWithoutHugeAllocation) {
  // 2^20 ops * sizeof(nfs_argop4) is under UINT_MAX, so stock xdr_array with no bound would
  // calloc the whole array (about 150 MB) before finding the bytes missing.
  ASSERT_GT((1ull << 20) * sizeof(nfs_argop4), 64ull << 20);
  Bytes wire;
  put32(wire, 0);
  put32(wire, 2);
  put32(wire, 1u << 20);
  put32(wire, OP_PUTROOTFH);
  EXPECT_LT(failed_compound_decode_largest_alloc(wire), kSmall);
}

TEST(XdrNfs4, CountJustOverBoundFailsAndBoundItselfDecodes) {
  // MANIFOLD_NFS4_COMPOUND_OPS_MAX ops decode; one more is refused.
  Bytes ok;
  put32(ok, 0);
  put32(ok, 2);
  put32(ok, MANIFOLD_NFS4_COMPOUND_OPS_MAX);
  for (int i = 0; i < MANIFOLD_NFS4_COMPOUND_OPS_MAX; ++i) put32(ok, OP_PUTROOTFH);
  COMPOUND4args out{};
  EXPECT_TRUE(decode((xdrproc_t)xdr_COMPOUND4args, ok, &out));
  EXPECT_EQ(out.argarray.argarray_len, static_cast<u_int>(MANIFOLD_NFS4_COMPOUND_OPS_MAX));
  release((xdrproc_t)xdr_COMPOUND4args, &out);

  Bytes over;
  put32(over, 0);
  put32(over, 2);
  put32(over, MANIFOLD_NFS4_COMPOUND_OPS_MAX + 1);
  for (int i = 0; i < MANIFOLD_NFS4_COMPOUND_OPS_MAX + 1; ++i) put32(over, OP_PUTROOTFH);
  EXPECT_LT(failed_compound_decode_largest_alloc(over), kSmall);
}

TEST(XdrNfs4, HostileTagLengthFailsWithoutHugeAllocation) {
  Bytes wire;
  put32(wire, 0x7ffffff0);  // tag length
  put32(wire, 0);
  EXPECT_LT(failed_compound_decode_largest_alloc(wire), kSmall);
}

TEST(XdrNfs4, HostileWriteLengthFailsWithoutHugeAllocation) {
  // WRITE data claims 2 GiB: refused by the bound before any allocation.
  Bytes wire;
  put32(wire, 0);
  put32(wire, 2);
  put32(wire, 1);
  put32(wire, OP_WRITE);
  for (int i = 0; i < 4; ++i) put32(wire, 0);  // stateid
  put32(wire, 0);                               // offset (hyper)
  put32(wire, 0);
  put32(wire, UNSTABLE4);
  put32(wire, 0x7fffffff);                      // data length
  EXPECT_LT(failed_compound_decode_largest_alloc(wire), kSmall);
}

TEST(XdrNfs4, HostileCbArgarrayCountFailsWithoutHugeAllocation) {
  Bytes wire;
  put32(wire, 0);         // tag
  put32(wire, 2);         // minorversion
  put32(wire, 0);         // callback_ident
  put32(wire, 1u << 20);  // argarray count
  CB_COMPOUND4args out{};
  std::size_t largest;
  bool ok;
  {
    ArmProbe armed;
    ok = decode((xdrproc_t)xdr_CB_COMPOUND4args, wire, &out);
    largest = armed.largest();
  }
  EXPECT_FALSE(ok);
  EXPECT_LT(largest, kSmall);
  release((xdrproc_t)xdr_CB_COMPOUND4args, &out);
}

// Control: the probe does see the request an unbounded decoder makes, so the "< kSmall" checks
// above are not vacuous.
TEST(XdrNfs4, ProbeSeesUnboundedAllocation) {
  Bytes wire;
  put32(wire, 0x7fffffff);  // opaque length, no bytes follow
  char* val = nullptr;
  u_int len = 0;
  XDR x;
  xdrmem_create(&x, wire.data(), static_cast<u_int>(wire.size()), XDR_DECODE);
  std::size_t largest;
  bool ok;
  {
    ArmProbe armed;
    ok = xdr_bytes(&x, &val, &len, ~0u);
    largest = armed.largest();
  }
  xdr_destroy(&x);
  EXPECT_FALSE(ok);
  EXPECT_GE(largest, std::size_t{0x7fffffff});
  free(val);
}

// Every xattr op number and the flexfile recall mask values are the RFC's.
TEST(XdrNfs4, RfcNumbers) {
  EXPECT_EQ(OP_ALLOCATE, 59);
  EXPECT_EQ(OP_CLONE, 71);
  EXPECT_EQ(OP_GETXATTR, 72);
  EXPECT_EQ(OP_SETXATTR, 73);
  EXPECT_EQ(OP_LISTXATTRS, 74);
  EXPECT_EQ(OP_REMOVEXATTR, 75);
  EXPECT_EQ(OP_ILLEGAL, 10044);
  EXPECT_EQ(OP_CB_OFFLOAD, 15);
  EXPECT_EQ(NFS4ERR_OFFLOAD_NO_REQS, 10094);
  EXPECT_EQ(NFS4ERR_XATTR2BIG, 10096);
  EXPECT_EQ(FATTR4_SEC_LABEL, 80);
  EXPECT_EQ(FATTR4_XATTR_SUPPORT, 82);
  EXPECT_EQ(PNFS_FF_RCA4_TYPE_MASK_READ, 16);
  EXPECT_EQ(PNFS_FF_RCA4_TYPE_MASK_RW, 17);
  EXPECT_EQ(NFS4_CALLBACK, 0x40000000);
  EXPECT_EQ(NFS4_PROGRAM, 100003);
}

}  // namespace
