// libFuzzer target: the rpcgen NFSv4.2 decoders the metadata server runs on untrusted bytes.
//
// Each input is decoded, over xdrmem, as COMPOUND4args (what clients send), CB_COMPOUND4args
// and CB_COMPOUND4res (the backchannel; the MDS decodes the replies clients send to its
// callbacks), and freed. nfs4.x bounds every variable-length item, so no single allocation
// can be larger than the biggest bound: libFuzzer's -malloc_limit_mb (256 MiB in CTest) turns
// an unbounded or overflowing length into a crash report, ASan catches reads past the input
// and leaks on the partial-decode free path.
//
// On a successful decode the object is encoded again and decoded once more: the second
// encoding must equal the first (decode and encode agree on every type; the first encoding
// may differ from the input only where XDR is not canonical, e.g. a boolean of 7).
//
// A malloc hook also measures the live heap of each decode against the input's size and
// prints the largest ratio seen at exit ("amplification"), the figure that says how much
// memory a record of a given size can make the server hold.
#include <rpc/xdr.h>
#include <sanitizer/allocator_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "xdr/nfs4.h"

namespace {

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fuzz_nfs4_args: check failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

// Live bytes allocated while `g_counting`; peak per decode.
bool g_counting = false;
size_t g_live = 0;
size_t g_peak = 0;
double g_worst_ratio = 0;
size_t g_worst_peak = 0;
size_t g_worst_size = 0;

void OnMalloc(const volatile void* p, size_t size) {
  if (!g_counting) return;
  g_live += size;
  if (g_live > g_peak) g_peak = g_live;
}

void OnFree(const volatile void* p) {
  if (!g_counting || p == nullptr) return;
  size_t size = __sanitizer_get_allocated_size(const_cast<const void*>(p));
  g_live = size > g_live ? 0 : g_live - size;
}

void Report() {
  if (g_worst_size == 0) return;
  std::fprintf(stderr,
               "fuzz_nfs4_args: largest decode heap / input size: %.1f (%zu bytes live for a "
               "%zu-byte input)\n",
               g_worst_ratio, g_worst_peak, g_worst_size);
}

std::vector<uint8_t> Encode(xdrproc_t proc, void* obj) {
  unsigned long n = xdr_sizeof(proc, obj);
  std::vector<uint8_t> out(n);
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(out.data()), u_int(n), XDR_ENCODE);
  FUZZ_CHECK(proc(&x, obj));
  FUZZ_CHECK(xdr_getpos(&x) == n);
  xdr_destroy(&x);
  return out;
}

template <typename T>
void DecodeOne(const uint8_t* data, size_t size, xdrproc_t proc) {
  T obj;
  std::memset(static_cast<void*>(&obj), 0, sizeof(obj));
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(const_cast<uint8_t*>(data)), u_int(size),
                XDR_DECODE);
  g_live = g_peak = 0;
  g_counting = true;
  bool ok = proc(&x, &obj);
  g_counting = false;
  if (ok) FUZZ_CHECK(xdr_getpos(&x) <= size);
  xdr_destroy(&x);
  if (size > 0) {
    double ratio = double(g_peak) / double(size);
    if (ratio > g_worst_ratio) {
      g_worst_ratio = ratio;
      g_worst_peak = g_peak;
      g_worst_size = size;
    }
  }
  if (ok) {
    std::vector<uint8_t> first = Encode(proc, &obj);
    xdr_free(proc, reinterpret_cast<char*>(&obj));
    T again;
    std::memset(static_cast<void*>(&again), 0, sizeof(again));
    XDR y;
    xdrmem_create(&y, reinterpret_cast<char*>(first.data()), u_int(first.size()), XDR_DECODE);
    FUZZ_CHECK(proc(&y, &again));
    FUZZ_CHECK(xdr_getpos(&y) == first.size());
    xdr_destroy(&y);
    std::vector<uint8_t> second = Encode(proc, &again);
    xdr_free(proc, reinterpret_cast<char*>(&again));
    FUZZ_CHECK(first == second);
  } else {
    // rpcgen decoders leave a partial object behind; the server frees it the same way.
    xdr_free(proc, reinterpret_cast<char*>(&obj));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  __sanitizer_install_malloc_and_free_hooks(OnMalloc, OnFree);
  std::atexit(Report);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so that ASan sees any read past the end.
  std::vector<uint8_t> in(data, data + size);
  DecodeOne<COMPOUND4args>(in.data(), in.size(), xdrproc_t(xdr_COMPOUND4args));
  DecodeOne<CB_COMPOUND4args>(in.data(), in.size(), xdrproc_t(xdr_CB_COMPOUND4args));
  DecodeOne<CB_COMPOUND4res>(in.data(), in.size(), xdrproc_t(xdr_CB_COMPOUND4res));
  return 0;
}
