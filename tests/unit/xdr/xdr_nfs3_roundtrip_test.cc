// Round trips through the rpcgen-generated NFSv3 XDR routines, and proof that the explicit
// bounds in src/xdr/nfs3.x stop a hostile length field before anything is allocated.

#include "xdr/mount3.h"
#include "xdr/nfs3.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Allocation probe. libtirpc allocates decoded items with calloc (mem_alloc); these definitions
// interpose malloc/calloc for the whole process (libtirpc.so included). While armed, the probe
// records the largest request and refuses (returns NULL, allocates nothing) any request above
// kRefuseAbove, so even the unbounded control case below never really allocates 2 GiB.
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

struct ArmProbe {
  ArmProbe() {
    g_largest = 0;
    g_armed = true;
  }
  ~ArmProbe() { g_armed = false; }
};
}  // namespace

extern "C" void* malloc(std::size_t n) noexcept {
  return probe(n) ? __libc_malloc(n) : nullptr;
}

extern "C" void* calloc(std::size_t a, std::size_t b) noexcept {
  std::size_t n;
  if (__builtin_mul_overflow(a, b, &n)) n = SIZE_MAX;
  return probe(n) ? __libc_calloc(a, b) : nullptr;
}

// ---------------------------------------------------------------------------------------------
namespace {

template <typename T>
std::vector<char> encode(xdrproc_t proc, T* obj, std::size_t cap = 64 * 1024) {
  std::vector<char> buf(cap);
  XDR x;
  xdrmem_create(&x, buf.data(), static_cast<u_int>(buf.size()), XDR_ENCODE);
  EXPECT_TRUE(proc(&x, obj));
  buf.resize(xdr_getpos(&x));
  xdr_destroy(&x);
  return buf;
}

template <typename T>
bool decode(xdrproc_t proc, std::vector<char>& buf, T* obj) {
  XDR x;
  xdrmem_create(&x, buf.data(), static_cast<u_int>(buf.size()), XDR_DECODE);
  bool ok = proc(&x, obj);
  xdr_destroy(&x);
  return ok;
}

void put32(std::vector<char>& b, uint32_t v) {
  uint32_t n = htonl(v);
  const char* p = reinterpret_cast<const char*>(&n);
  b.insert(b.end(), p, p + 4);
}

nfs_fh3 make_fh(char* bytes, u_int len) {
  nfs_fh3 fh{};
  fh.data.data_len = len;
  fh.data.data_val = bytes;
  return fh;
}

fattr3 make_attr(uint64_t fileid) {
  fattr3 a{};
  a.type = NF3REG;
  a.mode = 0644;
  a.nlink = 1;
  a.uid = 1000;
  a.gid = 1000;
  a.size = 4096;
  a.used = 8192;
  a.fsid = 0x1122334455667788ULL;
  a.fileid = fileid;
  a.mtime = {1700000000u, 123u};
  return a;
}

}  // namespace

TEST(XdrNfs3, Write3argsRoundTrip) {
  char fhbytes[32];
  for (int i = 0; i < 32; ++i) fhbytes[i] = static_cast<char>(i * 7);
  std::vector<char> data(4096);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 5);

  WRITE3args in{};
  in.file = make_fh(fhbytes, sizeof fhbytes);
  in.offset = 0x123456789abULL;
  in.count = 4096;
  in.stable = FILE_SYNC;
  in.data.data_len = static_cast<u_int>(data.size());
  in.data.data_val = data.data();

  auto buf = encode(reinterpret_cast<xdrproc_t>(xdr_WRITE3args), &in);
  // 4+32 fh, 8 offset, 4 count, 4 stable, 4+4096 data.
  EXPECT_EQ(buf.size(), 36u + 8 + 4 + 4 + 4 + 4096);

  WRITE3args out{};
  ASSERT_TRUE(decode(reinterpret_cast<xdrproc_t>(xdr_WRITE3args), buf, &out));
  ASSERT_EQ(out.file.data.data_len, 32u);
  EXPECT_EQ(0, std::memcmp(out.file.data.data_val, fhbytes, 32));
  EXPECT_EQ(out.offset, in.offset);
  EXPECT_EQ(out.count, 4096u);
  EXPECT_EQ(out.stable, FILE_SYNC);
  ASSERT_EQ(out.data.data_len, 4096u);
  EXPECT_EQ(0, std::memcmp(out.data.data_val, data.data(), 4096));
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_WRITE3args), reinterpret_cast<char*>(&out));
}

TEST(XdrNfs3, ReaddirPlus3resRoundTrip) {
  char fh1[] = "fh-one", fh2[] = "fh-two";
  char n1[] = "alpha", n2[] = "beta";

  entryplus3 e2{};
  e2.fileid = 22;
  e2.name = n2;
  e2.cookie = 2;
  e2.name_attributes.attributes_follow = FALSE;
  e2.name_handle.handle_follows = TRUE;
  e2.name_handle.post_op_fh3_u.handle = make_fh(fh2, 6);
  e2.nextentry = nullptr;

  entryplus3 e1{};
  e1.fileid = 11;
  e1.name = n1;
  e1.cookie = 1;
  e1.name_attributes.attributes_follow = TRUE;
  e1.name_attributes.post_op_attr_u.attributes = make_attr(11);
  e1.name_handle.handle_follows = TRUE;
  e1.name_handle.post_op_fh3_u.handle = make_fh(fh1, 6);
  e1.nextentry = &e2;

  READDIRPLUS3res in{};
  in.status = NFS3_OK;
  READDIRPLUS3resok& ok = in.READDIRPLUS3res_u.resok;
  ok.dir_attributes.attributes_follow = FALSE;
  std::memcpy(ok.cookieverf, "verifier", NFS3_COOKIEVERFSIZE);
  ok.reply.entries = &e1;
  ok.reply.eof = TRUE;

  auto buf = encode(reinterpret_cast<xdrproc_t>(xdr_READDIRPLUS3res), &in);

  READDIRPLUS3res out{};
  ASSERT_TRUE(decode(reinterpret_cast<xdrproc_t>(xdr_READDIRPLUS3res), buf, &out));
  ASSERT_EQ(out.status, NFS3_OK);
  const READDIRPLUS3resok& o = out.READDIRPLUS3res_u.resok;
  EXPECT_FALSE(o.dir_attributes.attributes_follow);
  EXPECT_EQ(0, std::memcmp(o.cookieverf, "verifier", NFS3_COOKIEVERFSIZE));
  EXPECT_TRUE(o.reply.eof);

  const entryplus3* a = o.reply.entries;
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->fileid, 11u);
  EXPECT_STREQ(a->name, "alpha");
  EXPECT_EQ(a->cookie, 1u);
  ASSERT_TRUE(a->name_attributes.attributes_follow);
  const fattr3& fa = a->name_attributes.post_op_attr_u.attributes;
  EXPECT_EQ(fa.type, NF3REG);
  EXPECT_EQ(fa.mode, 0644u);
  EXPECT_EQ(fa.fsid, 0x1122334455667788ULL);
  EXPECT_EQ(fa.fileid, 11u);
  EXPECT_EQ(fa.mtime.seconds, 1700000000u);
  EXPECT_EQ(fa.mtime.nseconds, 123u);
  ASSERT_TRUE(a->name_handle.handle_follows);
  ASSERT_EQ(a->name_handle.post_op_fh3_u.handle.data.data_len, 6u);
  EXPECT_EQ(0, std::memcmp(a->name_handle.post_op_fh3_u.handle.data.data_val, "fh-one", 6));

  const entryplus3* b = a->nextentry;
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->fileid, 22u);
  EXPECT_STREQ(b->name, "beta");
  EXPECT_EQ(b->cookie, 2u);
  EXPECT_FALSE(b->name_attributes.attributes_follow);
  ASSERT_TRUE(b->name_handle.handle_follows);
  EXPECT_EQ(0, std::memcmp(b->name_handle.post_op_fh3_u.handle.data.data_val, "fh-two", 6));
  EXPECT_EQ(b->nextentry, nullptr);

  xdr_free(reinterpret_cast<xdrproc_t>(xdr_READDIRPLUS3res), reinterpret_cast<char*>(&out));
}

namespace {
// LOOKUP3args on the wire: fh length 8, 8 fh bytes, name length `namelen`, then `avail` bytes.
std::vector<char> lookup_wire(uint32_t namelen, std::size_t avail) {
  std::vector<char> b;
  put32(b, 8);
  b.insert(b.end(), 8, 'h');
  put32(b, namelen);
  b.insert(b.end(), avail, 'n');
  while (b.size() % 4) b.push_back(0);
  return b;
}
}  // namespace

TEST(XdrNfs3, HostileNameLengthFailsWithoutAllocating) {
  auto buf = lookup_wire(0x7fffffffu, 16);

  // Control: the same length decoded with no bound (what rpcgen emits for "string<>") asks the
  // allocator for the full 2 GiB before looking at the bytes. The probe refuses it.
  {
    XDR x;
    xdrmem_create(&x, buf.data() + 12, static_cast<u_int>(buf.size() - 12), XDR_DECODE);
    char* s = nullptr;
    bool ok;
    {
      ArmProbe arm;
      ok = xdr_string(&x, &s, ~0u);
    }
    xdr_destroy(&x);
    EXPECT_FALSE(ok);
    EXPECT_GE(g_largest.load(), std::size_t{0x7fffffff}) << "probe did not see libtirpc's allocation";
    std::free(s);
  }

  // The generated, bounded decoder rejects the length before allocating anything large.
  LOOKUP3args out{};
  bool ok;
  {
    ArmProbe arm;
    ok = decode(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), buf, &out);
  }
  EXPECT_FALSE(ok);
  EXPECT_LT(g_largest.load(), std::size_t{4096}) << "decoder allocated " << g_largest.load();
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), reinterpret_cast<char*>(&out));
}

TEST(XdrNfs3, NameBoundIsExact) {
  auto at_max = lookup_wire(MANIFOLD_NFS3_NAME_MAX, MANIFOLD_NFS3_NAME_MAX);
  LOOKUP3args out{};
  ASSERT_TRUE(decode(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), at_max, &out));
  EXPECT_EQ(std::strlen(out.what.name), std::size_t{MANIFOLD_NFS3_NAME_MAX});
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), reinterpret_cast<char*>(&out));

  auto over = lookup_wire(MANIFOLD_NFS3_NAME_MAX + 1, MANIFOLD_NFS3_NAME_MAX + 1);
  LOOKUP3args out2{};
  EXPECT_FALSE(decode(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), over, &out2));
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_LOOKUP3args), reinterpret_cast<char*>(&out2));
}

TEST(XdrNfs3, WriteDataBoundRejectsHostileLength) {
  std::vector<char> b;
  put32(b, 4);
  b.insert(b.end(), 4, 'h');  // fh
  put32(b, 0);
  put32(b, 0);                // offset
  put32(b, 16);               // count
  put32(b, FILE_SYNC);        // stable
  put32(b, 0xfffffff0u);      // data length
  b.insert(b.end(), 16, 'd');
  WRITE3args out{};
  bool ok;
  {
    ArmProbe arm;
    ok = decode(reinterpret_cast<xdrproc_t>(xdr_WRITE3args), b, &out);
  }
  EXPECT_FALSE(ok);
  EXPECT_LT(g_largest.load(), std::size_t{4096});
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_WRITE3args), reinterpret_cast<char*>(&out));
}

TEST(XdrMount3, MountRes3RoundTrip) {
  char fh[] = "0123456789abcdef";
  int flavors[] = {AUTH_SYS, AUTH_NONE};
  mountres3 in{};
  in.fhs_status = MNT3_OK;
  in.mountres3_u.mountinfo.fhandle.fhandle3_len = 16;
  in.mountres3_u.mountinfo.fhandle.fhandle3_val = fh;
  in.mountres3_u.mountinfo.auth_flavors.auth_flavors_len = 2;
  in.mountres3_u.mountinfo.auth_flavors.auth_flavors_val = flavors;
  auto buf = encode(reinterpret_cast<xdrproc_t>(xdr_mountres3), &in);
  mountres3 out{};
  ASSERT_TRUE(decode(reinterpret_cast<xdrproc_t>(xdr_mountres3), buf, &out));
  ASSERT_EQ(out.fhs_status, MNT3_OK);
  ASSERT_EQ(out.mountres3_u.mountinfo.fhandle.fhandle3_len, 16u);
  EXPECT_EQ(0, std::memcmp(out.mountres3_u.mountinfo.fhandle.fhandle3_val, fh, 16));
  ASSERT_EQ(out.mountres3_u.mountinfo.auth_flavors.auth_flavors_len, 2u);
  EXPECT_EQ(out.mountres3_u.mountinfo.auth_flavors.auth_flavors_val[0], AUTH_SYS);
  xdr_free(reinterpret_cast<xdrproc_t>(xdr_mountres3), reinterpret_cast<char*>(&out));
}
