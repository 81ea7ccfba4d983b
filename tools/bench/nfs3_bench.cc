// manifold-bench-nfs3: an NFSv3 benchmark client built on libnfs.
//
// It measures any NFSv3 server (manifold-ds, NFS-Ganesha, a filer) with exactly the same client,
// so that figures of different servers compare. Every measured operation is one raw NFSv3 RPC
// (rpc_nfs3_*_async from <nfsc/libnfs-raw.h>): libnfs's high-level API caches attributes and adds
// LOOKUPs, which would measure libnfs instead of the server. Connections are set up with libnfs's
// own nfs_parse_url_dir + nfs_mount; the export's root filehandle comes from a MOUNT3 MNT call.
//
// Tests, in this order; each prints one JSON line on stdout (progress and errors go to stderr):
//   seq_write      a file of --size MiB written with 1 MiB UNSTABLE WRITEs (--io-depth in flight on
//                  one connection), then one COMMIT; the write verifier must not change.
//   seq_read       the same file read back with 1 MiB READs; every byte is checked against what was
//                  written (a deterministic pattern from --seed), and the size must match.
//   getattr        GETATTR of one file,                  \  for --seconds each, at every value of
//   lookup         LOOKUP of one name in the bench dir,   > --concurrency C: C connections (one
//   create_remove  CREATE (GUARDED) + REMOVE of new names/  libnfs context each), each with one call
//                                                          in flight; one create_remove op = 1 pair.
// Connections are driven by --threads event loops (poll + rpc_service), connection i by loop i % T.
// --server-pid PID[,PID...] (the server runs on this machine): the CPU time those processes used
// during each test is reported per op, as the rate counts ops (a 1 MiB READ or WRITE, a
// create_remove pair), as "server_cpu_us_per_op" (bench_util.h).
//
// Everything happens in a fresh directory under the export ("manifold-bench.<host>.<pid>.<n>"),
// removed at the end unless --keep.
//
// Exit status: 0 every test passed; 1 a server error, wrong data, a lost connection or a timeout;
// 2 bad usage.

extern "C" {
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
}

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/nfs3_status_names.h"
#include "bench_util.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint32_t kBlockBytes = 1024 * 1024;   // every WRITE and READ of the stream tests
constexpr int kConcurrencyMax = 1024;
constexpr int kIoDepthMax = 64;
constexpr int kThreadsMax = 64;
constexpr uint64_t kSizeMiBMax = 1024 * 1024;   // 1 TiB
constexpr int kSecondsMax = 3600;
constexpr int kPollIntervalMs = 100;            // also how often libnfs gets to scan for timeouts
constexpr int kSetupTimeoutMs = 30'000;         // each setup/cleanup RPC

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string url;
  uint64_t size_mib = 256;
  int seconds = 10;
  std::vector<int> concurrency = {1, 16};
  int io_depth = 4;
  int threads = 1;
  std::vector<std::string> tests = {"seq_write", "seq_read", "getattr", "lookup", "create_remove"};
  std::string label;
  uint64_t seed = 0;  // 0: pick one from the clock and print it
  int timeout_s = 600;
  bool keep = false;
  std::vector<pid_t> server_pids;  // --server-pid
};

const char* const kAllTests[] = {"seq_write", "seq_read", "getattr", "lookup", "create_remove"};

void Usage(FILE* out) {
  fprintf(out,
          "usage: manifold-bench-nfs3 [options] 'nfs://HOST/EXPORT[?nfsport=P&mountport=P]'\n"
          "  --size MiB          file size of seq_write/seq_read (default 256)\n"
          "  --seconds S         duration of each small-op test, 1..%d (default 10)\n"
          "  --concurrency LIST  connections for small-op tests, e.g. 1,16 (default 1,16)\n"
          "  --io-depth D        WRITEs/READs in flight for seq_write/seq_read (default 4)\n"
          "  --threads T         client event-loop threads driving the connections (default 1)\n"
          "  --tests LIST        subset of seq_write,seq_read,getattr,lookup,create_remove\n"
          "  --label TEXT        copied into every JSON line (e.g. the server's name)\n"
          "  --seed N            data pattern seed (default: from the clock, printed)\n"
          "  --timeout S         a test that has not finished S seconds after its planned end\n"
          "                      fails (default 600)\n"
          "  --keep              keep the benchmark directory and its files\n"
          "  --server-pid LIST   report the CPU time these local processes used per op\n"
          "Prints one JSON line per test. Exit 0: all passed; 1: a test failed; 2: bad usage.\n",
          kSecondsMax);
}

bool ParseInt(const char* s, long long lo, long long hi, long long* out) {
  char* end = nullptr;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// The non-empty pieces of a comma-separated list.
std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  for (std::string& piece : manifold::bench::SplitList(s)) {
    if (!piece.empty()) out.push_back(std::move(piece));
  }
  return out;
}

// Returns false (after printing why) on bad usage.
bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char** v) {
      if (i + 1 >= argc) {
        fprintf(stderr, "error: %s needs a value\n", a.c_str());
        return false;
      }
      *v = argv[++i];
      return true;
    };
    const char* v = nullptr;
    long long n = 0;
    if (a == "-h" || a == "--help") {
      Usage(stdout);
      exit(0);
    } else if (a == "--size") {
      if (!value(&v) || !ParseInt(v, 1, kSizeMiBMax, &n)) goto bad;
      o->size_mib = n;
    } else if (a == "--seconds") {
      if (!value(&v) || !ParseInt(v, 1, kSecondsMax, &n)) goto bad;
      o->seconds = n;
    } else if (a == "--concurrency") {
      if (!value(&v)) goto bad;
      o->concurrency.clear();
      for (const auto& c : SplitComma(v)) {
        if (!ParseInt(c.c_str(), 1, kConcurrencyMax, &n)) goto bad;
        o->concurrency.push_back(n);
      }
      if (o->concurrency.empty()) goto bad;
    } else if (a == "--io-depth") {
      if (!value(&v) || !ParseInt(v, 1, kIoDepthMax, &n)) goto bad;
      o->io_depth = n;
    } else if (a == "--threads") {
      if (!value(&v) || !ParseInt(v, 1, kThreadsMax, &n)) goto bad;
      o->threads = n;
    } else if (a == "--tests") {
      if (!value(&v)) goto bad;
      o->tests = SplitComma(v);
      for (const auto& t : o->tests) {
        if (std::find_if(std::begin(kAllTests), std::end(kAllTests),
                         [&](const char* k) { return t == k; }) == std::end(kAllTests)) {
          fprintf(stderr, "error: unknown test '%s'\n", t.c_str());
          return false;
        }
      }
    } else if (a == "--label") {
      if (!value(&v)) goto bad;
      o->label = v;
    } else if (a == "--seed") {
      if (!value(&v) || !ParseInt(v, 1, INT64_MAX, &n)) goto bad;
      o->seed = n;
    } else if (a == "--timeout") {
      if (!value(&v) || !ParseInt(v, 1, 86400, &n)) goto bad;
      o->timeout_s = n;
    } else if (a == "--keep") {
      o->keep = true;
    } else if (a == "--server-pid") {
      if (!value(&v)) goto bad;
      auto pids = manifold::bench::ParsePidList(v);
      if (!pids) goto bad;
      o->server_pids = *pids;
    } else if (a == "--url") {
      if (!value(&v)) goto bad;
      o->url = v;
    } else if (!a.empty() && a[0] != '-' && o->url.empty()) {
      o->url = a;
    } else {
      fprintf(stderr, "error: unexpected argument '%s'\n", a.c_str());
      return false;
    }
    continue;
  bad:
    fprintf(stderr, "error: bad value for %s%s%s\n", a.c_str(), v ? ": " : "", v ? v : "");
    return false;
  }
  if (o->url.rfind("nfs://", 0) != 0) {
    fprintf(stderr, "error: an nfs:// URL is required\n");
    return false;
  }
  return true;
}

bool Wants(const Options& o, const char* test) {
  return std::find(o.tests.begin(), o.tests.end(), test) != o.tests.end();
}

// The value of "name=" in the URL's query, or "" when absent.
std::string UrlArg(const std::string& url, const std::string& name) {
  size_t q = url.find('?');
  if (q == std::string::npos) return "";
  size_t pos = q + 1;
  while (pos < url.size()) {
    size_t amp = url.find('&', pos);
    if (amp == std::string::npos) amp = url.size();
    std::string kv = url.substr(pos, amp - pos);
    if (kv.rfind(name + "=", 0) == 0) return kv.substr(name.size() + 1);
    pos = amp + 1;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Data pattern: block b (of kBlockBytes) is pool block b % kPoolBlocks with its first 8 bytes
// replaced by a stamp unique to b, so that a misplaced, repeated or shifted block is caught and
// the client spends no time generating random data inside a measurement.

class Pattern {
 public:
  static constexpr int kPoolBlocks = 7;

  explicit Pattern(uint64_t seed) : seed_(seed), pool_(kPoolBlocks * size_t{kBlockBytes}) {
    uint64_t x = seed;
    for (size_t i = 0; i + 8 <= pool_.size(); i += 8) {
      uint64_t z = (x += 0x9E3779B97F4A7C15ull);  // splitmix64
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      memcpy(&pool_[i], &z, 8);
    }
  }

  void Fill(uint64_t off, char* out, size_t len) const {
    Walk(off, len, [&](size_t pos, const char* src, size_t n) {
      memcpy(out + pos, src, n);
      return true;
    });
  }

  // True when data == the pattern at [off, off+len); otherwise *bad_off is the first wrong byte.
  bool Matches(uint64_t off, const char* data, size_t len, uint64_t* bad_off) const {
    return Walk(off, len, [&](size_t pos, const char* src, size_t n) {
      if (memcmp(data + pos, src, n) == 0) return true;
      size_t i = 0;
      while (data[pos + i] == src[i]) ++i;
      *bad_off = off + pos + i;
      return false;
    });
  }

 private:
  // Calls f(position in range, source bytes, n) for consecutive pieces of [off, off+len).
  template <typename F>
  bool Walk(uint64_t off, size_t len, F f) const {
    size_t pos = 0;
    while (pos < len) {
      uint64_t abs = off + pos;
      uint64_t block = abs / kBlockBytes;
      size_t in_block = abs % kBlockBytes;
      char stamp[8];
      uint64_t s = (block + 1) * 0xD6E8FEB86659FD93ull ^ seed_;
      memcpy(stamp, &s, 8);
      const char* src;
      size_t n;
      if (in_block < 8) {
        src = stamp + in_block;
        n = std::min<size_t>(8 - in_block, len - pos);
      } else {
        src = &pool_[(block % kPoolBlocks) * kBlockBytes + in_block];
        n = std::min<size_t>(kBlockBytes - in_block, len - pos);
      }
      if (!f(pos, src, n)) return false;
      pos += n;
    }
    return true;
  }

  uint64_t seed_;
  std::vector<char> pool_;
};

// ---------------------------------------------------------------------------------------------
// Filehandles and connections

struct Fh {
  std::string bytes;
  nfs_fh3 Raw() const {
    nfs_fh3 f{};
    f.data.data_len = bytes.size();
    f.data.data_val = const_cast<char*>(bytes.data());
    return f;
  }
};

Fh FhFrom(const nfs_fh3& f) { return Fh{std::string(f.data.data_val, f.data.data_len)}; }

const char* NfsStatName(int st) { return manifold::Nfs3StatusName(uint32_t(st)); }

std::string RpcFailure(rpc_context* rpc, int status, void* data) {
  const char* kind = status == RPC_STATUS_CANCEL    ? "cancelled"
                     : status == RPC_STATUS_TIMEOUT ? "timed out"
                                                    : "failed";
  const char* why = (status == RPC_STATUS_ERROR && data) ? static_cast<const char*>(data)
                                                         : rpc_get_error(rpc);
  return Format("RPC %s: %s", kind, why ? why : "(no detail)");
}

// One libnfs context = one TCP connection to the server. Only one thread touches it at a time.
struct Conn {
  nfs_context* nfs = nullptr;
  rpc_context* rpc = nullptr;  // owned by nfs
  int inflight = 0;

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (nfs) nfs_destroy_context(nfs);
  }
};

// Services the connections until none has a call in flight. Returns "" or why it stopped.
std::string RunLoop(const std::vector<Conn*>& conns, Clock::time_point hard_deadline) {
  std::vector<pollfd> pfds(conns.size());
  for (;;) {
    bool busy = false;
    for (size_t i = 0; i < conns.size(); ++i) {
      busy |= conns[i]->inflight > 0;
      pfds[i].fd = rpc_get_fd(conns[i]->rpc);
      pfds[i].events = rpc_which_events(conns[i]->rpc);
      pfds[i].revents = 0;
    }
    if (!busy) return "";
    if (Clock::now() > hard_deadline) return "timed out waiting for replies";
    int n = poll(pfds.data(), pfds.size(), kPollIntervalMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Format("poll: %s", strerror(errno));
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      if (n > 0 && pfds[i].revents == 0) continue;
      if (rpc_service(conns[i]->rpc, pfds[i].revents) < 0) {
        const char* e = rpc_get_error(conns[i]->rpc);
        return Format("connection %zu lost: %s", i, e ? e : "(no detail)");
      }
    }
  }
}

// A synchronous raw call for set-up and clean-up: issue, then service until the reply.
struct SyncCall {
  bool done = false;
  std::string error;                   // "" on success
  std::function<std::string(void*)> on_reply;  // returns "" or an error
};

void SyncCb(rpc_context* rpc, int status, void* data, void* priv) {
  auto* call = static_cast<SyncCall*>(priv);
  call->done = true;
  if (status != RPC_STATUS_SUCCESS) {
    call->error = RpcFailure(rpc, status, data);
  } else if (call->on_reply) {
    call->error = call->on_reply(data);
  }
}

// issue(rpc, cb, priv) returns libnfs's 0/-1.
template <typename Issue>
std::string CallSync(rpc_context* rpc, Issue issue, std::function<std::string(void*)> on_reply) {
  SyncCall call;
  call.on_reply = std::move(on_reply);
  if (issue(rpc, SyncCb, &call) != 0) {
    const char* e = rpc_get_error(rpc);
    return Format("could not send: %s", e ? e : "(no detail)");
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(kSetupTimeoutMs);
  while (!call.done) {
    pollfd p{rpc_get_fd(rpc), static_cast<short>(rpc_which_events(rpc)), 0};
    int n = poll(&p, 1, kPollIntervalMs);
    if (n < 0 && errno != EINTR) return Format("poll: %s", strerror(errno));
    if (rpc_service(rpc, n > 0 ? p.revents : 0) < 0) {
      const char* e = rpc_get_error(rpc);
      return Format("connection lost: %s", e ? e : "(no detail)");
    }
    if (!call.done && Clock::now() > deadline) return "no reply within the set-up timeout";
  }
  return call.error;
}

// Status check shared by every NFSv3 result: each XXX3res starts with its nfsstat3.
std::string NfsStatus(void* data, const char* op) {
  int st = *static_cast<nfsstat3*>(data);
  return st == NFS3_OK ? "" : Format("%s: %s (%d)", op, NfsStatName(st), st);
}

// ---------------------------------------------------------------------------------------------
// Set-up

struct ConnectCtx {
  bool done = false;
  std::string error;
};

void ConnectCb(rpc_context* rpc, int status, void* data, void* priv) {
  auto* c = static_cast<ConnectCtx*>(priv);
  c->done = true;
  if (status != RPC_STATUS_SUCCESS) c->error = RpcFailure(rpc, status, data);
}

// The export's root filehandle, from MOUNT3 MNT on its own short-lived connection.
std::string MountRootFh(const std::string& server, const std::string& path, int mount_port,
                        Fh* root) {
  rpc_context* rpc = rpc_init_context();
  if (!rpc) return "rpc_init_context failed";
  std::unique_ptr<rpc_context, void (*)(rpc_context*)> guard(rpc, rpc_destroy_context);
  ConnectCtx cc;
  int rc = mount_port > 0 ? rpc_connect_port_async(rpc, server.c_str(), mount_port, MOUNT_PROGRAM,
                                                   MOUNT_V3, ConnectCb, &cc)
                          : rpc_connect_program_async(rpc, server.c_str(), MOUNT_PROGRAM,
                                                      MOUNT_V3, ConnectCb, &cc);
  if (rc != 0) return Format("MOUNT connect: %s", rpc_get_error(rpc));
  auto deadline = Clock::now() + std::chrono::milliseconds(kSetupTimeoutMs);
  while (!cc.done) {
    pollfd p{rpc_get_fd(rpc), static_cast<short>(rpc_which_events(rpc)), 0};
    int n = poll(&p, 1, kPollIntervalMs);
    if (rpc_service(rpc, n > 0 ? p.revents : 0) < 0 && !cc.done) {
      return Format("MOUNT connect: %s", rpc_get_error(rpc));
    }
    if (!cc.done && Clock::now() > deadline) return "MOUNT connect: timed out";
  }
  if (!cc.error.empty()) return "MOUNT connect: " + cc.error;
  std::string err = CallSync(
      rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        return rpc_mount3_mnt_async(r, cb, const_cast<char*>(path.c_str()), priv);
      },
      [&](void* data) -> std::string {
        auto* res = static_cast<mountres3*>(data);
        if (res->fhs_status != MNT3_OK) {
          return Format("MNT %s: mountstat3 %d", path.c_str(), res->fhs_status);
        }
        const fhandle3& fh = res->mountres3_u.mountinfo.fhandle;
        root->bytes.assign(fh.fhandle3_val, fh.fhandle3_len);
        return "";
      });
  if (!err.empty()) return "MOUNT3 MNT: " + err;
  if (root->bytes.empty()) return "MOUNT3 MNT returned an empty filehandle";
  return "";
}

std::string Connect(const std::string& url, Conn* c) {
  c->nfs = nfs_init_context();
  if (!c->nfs) return "nfs_init_context failed";
  nfs_url* u = nfs_parse_url_dir(c->nfs, url.c_str());
  if (!u) return Format("bad URL: %s", nfs_get_error(c->nfs));
  nfs_set_autoreconnect(c->nfs, 0);  // a lost connection fails the run instead of hiding
  int rc = nfs_mount(c->nfs, u->server, u->path);
  std::string err = rc == 0 ? "" : Format("nfs_mount %s:%s: %s", u->server, u->path,
                                         nfs_get_error(c->nfs));
  nfs_destroy_url(u);
  if (!err.empty()) return err;
  c->rpc = nfs_get_rpc_context(c->nfs);
  return "";
}

std::string Lookup(Conn& c, const Fh& dir, const std::string& name, Fh* out) {
  return CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        LOOKUP3args a{};
        a.what.dir = dir.Raw();
        a.what.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_lookup_async(r, cb, &a, priv);
      },
      [&](void* data) -> std::string {
        std::string e = NfsStatus(data, "LOOKUP");
        if (e.empty()) *out = FhFrom(static_cast<LOOKUP3res*>(data)->LOOKUP3res_u.resok.object);
        return e;
      });
}

std::string Mkdir(Conn& c, const Fh& parent, const std::string& name, Fh* out) {
  bool have_fh = false;
  std::string err = CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        MKDIR3args a{};
        a.where.dir = parent.Raw();
        a.where.name = const_cast<char*>(name.c_str());
        a.attributes.mode.set_it = 1;
        a.attributes.mode.set_mode3_u.mode = 0755;
        return rpc_nfs3_mkdir_async(r, cb, &a, priv);
      },
      [&](void* data) -> std::string {
        std::string e = NfsStatus(data, "MKDIR");
        if (!e.empty()) return e;
        const post_op_fh3& p = static_cast<MKDIR3res*>(data)->MKDIR3res_u.resok.obj;
        if (p.handle_follows) {
          *out = FhFrom(p.post_op_fh3_u.handle);
          have_fh = true;
        }
        return "";
      });
  if (err.empty() && !have_fh) err = Lookup(c, parent, name, out);
  return err;
}

// CREATE in UNCHECKED mode with size 0: creates or truncates.
std::string CreateFile(Conn& c, const Fh& dir, const std::string& name, Fh* out) {
  bool have_fh = false;
  std::string err = CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        CREATE3args a{};
        a.where.dir = dir.Raw();
        a.where.name = const_cast<char*>(name.c_str());
        a.how.mode = UNCHECKED;
        a.how.createhow3_u.obj_attributes.mode.set_it = 1;
        a.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0644;
        a.how.createhow3_u.obj_attributes.size.set_it = 1;
        a.how.createhow3_u.obj_attributes.size.set_size3_u.size = 0;
        return rpc_nfs3_create_async(r, cb, &a, priv);
      },
      [&](void* data) -> std::string {
        std::string e = NfsStatus(data, "CREATE");
        if (!e.empty()) return e;
        const post_op_fh3& p = static_cast<CREATE3res*>(data)->CREATE3res_u.resok.obj;
        if (p.handle_follows) {
          *out = FhFrom(p.post_op_fh3_u.handle);
          have_fh = true;
        }
        return "";
      });
  if (err.empty() && !have_fh) err = Lookup(c, dir, name, out);
  return err;
}

std::string Remove(Conn& c, const Fh& dir, const std::string& name) {
  return CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        REMOVE3args a{};
        a.object.dir = dir.Raw();
        a.object.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_remove_async(r, cb, &a, priv);
      },
      [&](void* data) { return NfsStatus(data, "REMOVE"); });
}

std::string Rmdir(Conn& c, const Fh& dir, const std::string& name) {
  return CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        RMDIR3args a{};
        a.object.dir = dir.Raw();
        a.object.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_rmdir_async(r, cb, &a, priv);
      },
      [&](void* data) { return NfsStatus(data, "RMDIR"); });
}

std::string GetSize(Conn& c, const Fh& file, uint64_t* size) {
  return CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        GETATTR3args a{};
        a.object = file.Raw();
        return rpc_nfs3_getattr_async(r, cb, &a, priv);
      },
      [&](void* data) -> std::string {
        std::string e = NfsStatus(data, "GETATTR");
        if (e.empty()) *size = static_cast<GETATTR3res*>(data)->GETATTR3res_u.resok.obj_attributes.size;
        return e;
      });
}

struct FsInfo {
  uint32_t rtmax = 0;
  uint32_t wtmax = 0;
};

std::string GetFsInfo(Conn& c, const Fh& root, FsInfo* info) {
  return CallSync(
      c.rpc,
      [&](rpc_context* r, rpc_cb cb, void* priv) {
        FSINFO3args a{};
        a.fsroot = root.Raw();
        return rpc_nfs3_fsinfo_async(r, cb, &a, priv);
      },
      [&](void* data) -> std::string {
        std::string e = NfsStatus(data, "FSINFO");
        if (e.empty()) {
          const FSINFO3resok& ok = static_cast<FSINFO3res*>(data)->FSINFO3res_u.resok;
          info->rtmax = ok.rtmax;
          info->wtmax = ok.wtmax;
        }
        return e;
      });
}

// ---------------------------------------------------------------------------------------------
// Results

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += Format("\\u%04x", ch);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Latency percentile in microseconds; sorts a copy-free nth_element over the samples.
double PercentileUs(std::vector<uint32_t>& ns, double p) {
  if (ns.empty()) return 0;
  size_t k = std::min(ns.size() - 1, static_cast<size_t>(p * ns.size()));
  std::nth_element(ns.begin(), ns.begin() + k, ns.end());
  return ns[k] / 1000.0;
}

uint32_t ElapsedNs(Clock::time_point from, Clock::time_point to) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
  return static_cast<uint32_t>(std::min<int64_t>(ns, UINT32_MAX));
}

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// ---------------------------------------------------------------------------------------------
// Stream tests: seq_write and seq_read on one connection with io_depth calls in flight.

struct StreamTest;

struct StreamSlot {
  StreamTest* test = nullptr;
  uint64_t off = 0;
  uint32_t len = 0;
  Clock::time_point issued;
  std::vector<char> buf;  // WRITE payload (libnfs encodes it during the call)
};

struct StreamTest {
  Conn* conn = nullptr;
  const Fh* file = nullptr;
  const Pattern* pattern = nullptr;
  bool write = true;
  uint64_t size = 0;
  uint64_t next_off = 0;
  uint64_t rpcs = 0;
  uint64_t bytes_done = 0;
  std::vector<uint32_t> lat_ns;
  std::string error;
  // WRITE verifier: every UNSTABLE reply and the COMMIT must carry the same one, otherwise the
  // server restarted and may have dropped data it acknowledged.
  bool have_verf = false;
  char verf[NFS3_WRITEVERFSIZE] = {};
  bool verf_changed = false;
};

bool IssueStream(StreamSlot& s);

void StreamCb(rpc_context* rpc, int status, void* data, void* priv) {
  auto& s = *static_cast<StreamSlot*>(priv);
  StreamTest& t = *s.test;
  t.conn->inflight--;
  if (!t.error.empty()) return;
  if (status != RPC_STATUS_SUCCESS) {
    t.error = Format("%s at offset %" PRIu64 ": %s", t.write ? "WRITE" : "READ", s.off,
                     RpcFailure(rpc, status, data).c_str());
    return;
  }
  t.error = NfsStatus(data, t.write ? "WRITE" : "READ");
  if (!t.error.empty()) {
    t.error += Format(" at offset %" PRIu64, s.off);
    return;
  }
  t.rpcs++;
  t.lat_ns.push_back(ElapsedNs(s.issued, Clock::now()));
  uint32_t count;
  if (t.write) {
    const WRITE3resok& ok = static_cast<WRITE3res*>(data)->WRITE3res_u.resok;
    count = ok.count;
    if (!t.have_verf) {
      memcpy(t.verf, ok.verf, sizeof(t.verf));
      t.have_verf = true;
    } else if (memcmp(t.verf, ok.verf, sizeof(t.verf)) != 0) {
      t.verf_changed = true;
    }
    if (count == 0 || count > s.len) {
      t.error = Format("WRITE at offset %" PRIu64 ": server wrote %u of %u bytes", s.off, count,
                       s.len);
      return;
    }
  } else {
    const READ3resok& ok = static_cast<READ3res*>(data)->READ3res_u.resok;
    count = ok.count;
    if (ok.data.data_len != count || count > s.len) {
      t.error = Format("READ at offset %" PRIu64 ": count %u but %u data bytes (asked %u)", s.off,
                       count, ok.data.data_len, s.len);
      return;
    }
    uint64_t bad = 0;
    if (!t.pattern->Matches(s.off, ok.data.data_val, count, &bad)) {
      t.error = Format("READ returned wrong data: first bad byte at offset %" PRIu64, bad);
      return;
    }
    if (count < s.len && ok.eof) {
      t.error = Format("READ hit end of file at %" PRIu64 ", expected %" PRIu64 " bytes",
                       s.off + count, t.size);
      return;
    }
    if (count == 0) {
      t.error = Format("READ at offset %" PRIu64 " returned no data and no EOF", s.off);
      return;
    }
  }
  t.bytes_done += count;
  if (count < s.len) {  // a short reply: ask for the rest of this block
    s.off += count;
    s.len -= count;
  } else if (t.next_off < t.size) {
    s.off = t.next_off;
    s.len = static_cast<uint32_t>(std::min<uint64_t>(kBlockBytes, t.size - t.next_off));
    t.next_off += s.len;
  } else {
    return;  // this slot is done
  }
  IssueStream(s);
}

bool IssueStream(StreamSlot& s) {
  StreamTest& t = *s.test;
  int rc;
  s.issued = Clock::now();
  if (t.write) {
    t.pattern->Fill(s.off, s.buf.data(), s.len);
    WRITE3args a{};
    a.file = t.file->Raw();
    a.offset = s.off;
    a.count = s.len;
    a.stable = UNSTABLE;
    a.data.data_len = s.len;
    a.data.data_val = s.buf.data();
    rc = rpc_nfs3_write_async(t.conn->rpc, StreamCb, &a, &s);
  } else {
    READ3args a{};
    a.file = t.file->Raw();
    a.offset = s.off;
    a.count = s.len;
    rc = rpc_nfs3_read_async(t.conn->rpc, StreamCb, &a, &s);
  }
  if (rc != 0) {
    t.error = Format("could not send: %s", rpc_get_error(t.conn->rpc));
    return false;
  }
  t.conn->inflight++;
  return true;
}

struct Env {
  const Options* opt = nullptr;
  std::vector<std::unique_ptr<Conn>> conns;
  Fh root;
  Fh dir;
  std::string dir_name;
  Fh data_file;
  bool data_written = false;
  Fh probe_file;
  FsInfo fsinfo;
  Pattern* pattern = nullptr;
  std::atomic<uint64_t> create_remove_leftovers{0};
};

// The servers' CPU time per op over a test, as a JSON field ("" without --server-pid).
struct ServerCpu {
  const Options& opt;
  std::optional<double> before = manifold::bench::ProcessCpuSeconds(opt.server_pids);
  std::string Field(uint64_t ops) const {
    if (opt.server_pids.empty() || ops == 0) return "";
    auto after = manifold::bench::ProcessCpuSeconds(opt.server_pids);
    if (!before || !after) return ",\"server_cpu_us_per_op\":null";
    return Format(",\"server_cpu_us_per_op\":%.1f", (*after - *before) * 1e6 / double(ops));
  }
};

void PrintLineStart(const Env& env, const char* test) {
  printf("{\"test\":\"%s\"", test);
  if (!env.opt->label.empty()) printf(",\"label\":%s", JsonString(env.opt->label).c_str());
}

// seq_write or seq_read. Returns "" or the failure.
std::string RunStream(Env& env, bool write) {
  const Options& o = *env.opt;
  const char* name = write ? "seq_write" : "seq_read";
  StreamTest t;
  t.conn = env.conns[0].get();
  t.file = &env.data_file;
  t.pattern = env.pattern;
  t.write = write;
  t.size = o.size_mib * kMiB;
  t.lat_ns.reserve(o.size_mib + 16);
  std::vector<StreamSlot> slots(o.io_depth);
  ServerCpu server_cpu{o};
  double cpu0 = CpuSeconds();
  auto start = Clock::now();
  for (auto& s : slots) {
    if (t.next_off >= t.size) break;
    s.test = &t;
    s.buf.resize(write ? kBlockBytes : 0);
    s.off = t.next_off;
    s.len = static_cast<uint32_t>(std::min<uint64_t>(kBlockBytes, t.size - t.next_off));
    t.next_off += s.len;
    if (!IssueStream(s)) break;
  }
  auto hard = start + std::chrono::seconds(o.timeout_s);
  std::string loop_err = RunLoop({t.conn}, hard);
  if (t.error.empty() && !loop_err.empty()) t.error = loop_err;
  if (t.error.empty() && t.bytes_done != t.size) {
    t.error = Format("%" PRIu64 " of %" PRIu64 " bytes done", t.bytes_done, t.size);
  }
  uint64_t commits = 0;
  if (write && t.error.empty()) {
    std::string e = CallSync(
        t.conn->rpc,
        [&](rpc_context* r, rpc_cb cb, void* priv) {
          COMMIT3args a{};
          a.file = env.data_file.Raw();
          a.offset = 0;
          a.count = 0;  // RFC 1813 3.3.21: count 0 commits from offset to the end of file
          return rpc_nfs3_commit_async(r, cb, &a, priv);
        },
        [&](void* data) -> std::string {
          std::string e = NfsStatus(data, "COMMIT");
          if (!e.empty()) return e;
          const COMMIT3resok& ok = static_cast<COMMIT3res*>(data)->COMMIT3res_u.resok;
          if (memcmp(ok.verf, t.verf, sizeof(t.verf)) != 0) t.verf_changed = true;
          return "";
        });
    if (!e.empty()) t.error = "COMMIT: " + e;
    commits = 1;
    if (t.error.empty() && t.verf_changed) {
      t.error = "the write verifier changed between WRITE and COMMIT replies (server restart?): "
                "acknowledged unstable data may be lost";
    }
  }
  auto end = Clock::now();
  double cpu = CpuSeconds() - cpu0;
  if (!t.error.empty()) return Format("%s: %s", name, t.error.c_str());
  if (write) {
    uint64_t size = 0;
    std::string e = GetSize(*t.conn, env.data_file, &size);
    if (!e.empty()) return Format("%s: after COMMIT: %s", name, e.c_str());
    if (size != t.size) {
      return Format("%s: file size is %" PRIu64 " after COMMIT, wrote %" PRIu64, name, size,
                    t.size);
    }
    env.data_written = true;
  }
  double secs = Seconds(start, end);
  double p50 = PercentileUs(t.lat_ns, 0.50), p99 = PercentileUs(t.lat_ns, 0.99);
  PrintLineStart(env, name);
  printf(",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"MiB_per_s\":%.1f"
         ",\"ops_per_s\":%.1f,\"concurrency\":%d,\"block_bytes\":%u,\"commits\":%" PRIu64
         ",\"p50_us\":%.1f,\"p99_us\":%.1f,\"client_cpu_pct\":%.0f,\"verified\":%s%s}\n",
         t.rpcs, t.bytes_done, secs, t.bytes_done / double(kMiB) / secs, t.rpcs / secs,
         o.io_depth, kBlockBytes, commits, p50, p99, 100 * cpu / secs, write ? "false" : "true",
         server_cpu.Field(t.rpcs).c_str());
  fflush(stdout);
  return "";
}

// ---------------------------------------------------------------------------------------------
// Small-op tests: every chain keeps exactly one call in flight on its own connection.

enum class SmallOp { kGetattr, kLookup, kCreateRemove };

struct SmallTest {
  SmallOp op;
  const Fh* dir = nullptr;
  const Fh* file = nullptr;
  const char* lookup_name = nullptr;
  Clock::time_point deadline;
  std::atomic<bool> abort{false};
};

struct Chain {
  SmallTest* test = nullptr;
  Conn* conn = nullptr;
  int id = 0;
  uint64_t ops = 0;
  uint64_t seq = 0;
  bool removing = false;  // create_remove: the CREATE is done, the REMOVE is in flight
  char name[64] = {};
  Clock::time_point issued;
  Clock::time_point last_done;
  std::vector<uint32_t> lat_ns;
  std::string error;
};

void SmallCb(rpc_context* rpc, int status, void* data, void* priv);

bool IssueSmall(Chain& ch) {
  SmallTest& t = *ch.test;
  rpc_context* rpc = ch.conn->rpc;
  int rc = 0;
  switch (t.op) {
    case SmallOp::kGetattr: {
      GETATTR3args a{};
      a.object = t.file->Raw();
      rc = rpc_nfs3_getattr_async(rpc, SmallCb, &a, &ch);
      break;
    }
    case SmallOp::kLookup: {
      LOOKUP3args a{};
      a.what.dir = t.dir->Raw();
      a.what.name = const_cast<char*>(t.lookup_name);
      rc = rpc_nfs3_lookup_async(rpc, SmallCb, &a, &ch);
      break;
    }
    case SmallOp::kCreateRemove:
      if (!ch.removing) {
        snprintf(ch.name, sizeof(ch.name), "c%d.%" PRIu64, ch.id, ch.seq);
        CREATE3args a{};
        a.where.dir = t.dir->Raw();
        a.where.name = ch.name;
        a.how.mode = GUARDED;
        a.how.createhow3_u.obj_attributes.mode.set_it = 1;
        a.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0644;
        rc = rpc_nfs3_create_async(rpc, SmallCb, &a, &ch);
      } else {
        REMOVE3args a{};
        a.object.dir = t.dir->Raw();
        a.object.name = ch.name;
        rc = rpc_nfs3_remove_async(rpc, SmallCb, &a, &ch);
      }
      break;
  }
  if (rc != 0) {
    ch.error = Format("could not send: %s", rpc_get_error(rpc));
    t.abort = true;
    return false;
  }
  ch.conn->inflight++;
  return true;
}

const char* SmallOpRpcName(const Chain& ch) {
  switch (ch.test->op) {
    case SmallOp::kGetattr: return "GETATTR";
    case SmallOp::kLookup: return "LOOKUP";
    case SmallOp::kCreateRemove: return ch.removing ? "REMOVE" : "CREATE";
  }
  return "?";
}

void SmallCb(rpc_context* rpc, int status, void* data, void* priv) {
  Chain& ch = *static_cast<Chain*>(priv);
  SmallTest& t = *ch.test;
  ch.conn->inflight--;
  if (status != RPC_STATUS_SUCCESS) {
    ch.error = Format("%s: %s", SmallOpRpcName(ch), RpcFailure(rpc, status, data).c_str());
    t.abort = true;
    return;
  }
  ch.error = NfsStatus(data, SmallOpRpcName(ch));
  if (!ch.error.empty()) {
    if (t.op == SmallOp::kCreateRemove) ch.error += Format(" (name %s)", ch.name);
    t.abort = true;
    return;
  }
  if (t.op == SmallOp::kCreateRemove && !ch.removing) {
    ch.removing = true;
    IssueSmall(ch);
    return;
  }
  auto now = Clock::now();
  ch.ops++;
  ch.lat_ns.push_back(ElapsedNs(ch.issued, now));
  ch.last_done = now;
  ch.removing = false;
  ch.seq++;
  if (now < t.deadline && !t.abort.load(std::memory_order_relaxed)) {
    ch.issued = now;
    IssueSmall(ch);
  }
}

std::string RunSmall(Env& env, const char* name, SmallOp op, int concurrency) {
  const Options& o = *env.opt;
  SmallTest t;
  t.op = op;
  t.dir = &env.dir;
  t.file = &env.probe_file;
  t.lookup_name = "probe";
  std::vector<Chain> chains(concurrency);
  for (int i = 0; i < concurrency; ++i) {
    chains[i].test = &t;
    chains[i].conn = env.conns[i].get();
    chains[i].id = i;
    chains[i].lat_ns.reserve(1 << 16);
  }
  int nthreads = std::min(o.threads, concurrency);
  std::vector<std::string> loop_errors(nthreads);
  ServerCpu server_cpu{o};
  double cpu0 = CpuSeconds();
  auto start = Clock::now();
  t.deadline = start + std::chrono::seconds(o.seconds);
  auto hard = t.deadline + std::chrono::seconds(o.timeout_s);
  auto run = [&](int th) {
    std::vector<Conn*> mine;
    for (int i = th; i < concurrency; i += nthreads) {
      mine.push_back(chains[i].conn);
      chains[i].issued = Clock::now();
      chains[i].last_done = chains[i].issued;
      IssueSmall(chains[i]);
    }
    loop_errors[th] = RunLoop(mine, hard);
    if (!loop_errors[th].empty()) t.abort = true;
  };
  std::vector<std::thread> threads;
  for (int th = 1; th < nthreads; ++th) threads.emplace_back(run, th);
  run(0);
  for (auto& th : threads) th.join();
  double cpu = CpuSeconds() - cpu0;

  for (auto& e : loop_errors) {
    if (!e.empty()) return Format("%s c=%d: %s", name, concurrency, e.c_str());
  }
  for (auto& ch : chains) {
    if (!ch.error.empty()) {
      return Format("%s c=%d: connection %d: %s", name, concurrency, ch.id, ch.error.c_str());
    }
  }
  uint64_t ops = 0;
  auto end = start;
  std::vector<uint32_t> lat;
  for (auto& ch : chains) {
    ops += ch.ops;
    end = std::max(end, ch.last_done);
    lat.insert(lat.end(), ch.lat_ns.begin(), ch.lat_ns.end());
  }
  double secs = Seconds(start, end);
  if (ops == 0 || secs <= 0) return Format("%s c=%d: no operation completed", name, concurrency);
  double p50 = PercentileUs(lat, 0.50), p99 = PercentileUs(lat, 0.99);
  PrintLineStart(env, name);
  printf(",\"ops\":%" PRIu64 ",\"seconds\":%.3f,\"ops_per_s\":%.1f,\"concurrency\":%d"
         ",\"rpcs_per_op\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"client_threads\":%d"
         ",\"client_cpu_pct\":%.0f%s}\n",
         ops, secs, ops / secs, concurrency, op == SmallOp::kCreateRemove ? 2 : 1, p50, p99,
         nthreads, 100 * cpu / secs,
         server_cpu.Field(ops).c_str());
  fflush(stdout);
  return "";
}

// ---------------------------------------------------------------------------------------------

std::string SetUp(Env& env) {
  const Options& o = *env.opt;
  bool small = Wants(o, "getattr") || Wants(o, "lookup") || Wants(o, "create_remove");
  int nconns = small ? *std::max_element(o.concurrency.begin(), o.concurrency.end()) : 1;
  for (int i = 0; i < nconns; ++i) {
    env.conns.push_back(std::make_unique<Conn>());
    std::string e = Connect(o.url, env.conns.back().get());
    if (!e.empty()) return Format("connection %d: %s", i, e.c_str());
  }
  // Root filehandle from our own MNT on the URL's mount port.
  {
    nfs_context* tmp = nfs_init_context();
    nfs_url* u = tmp ? nfs_parse_url_dir(tmp, o.url.c_str()) : nullptr;
    if (!u) {
      if (tmp) nfs_destroy_context(tmp);
      return "bad URL";
    }
    std::string server = u->server, path = u->path;
    nfs_destroy_url(u);
    nfs_destroy_context(tmp);
    std::string mp = UrlArg(o.url, "mountport");
    std::string e = MountRootFh(server, path, mp.empty() ? 0 : atoi(mp.c_str()), &env.root);
    if (!e.empty()) return e;
  }
  Conn& c = *env.conns[0];
  std::string e = GetFsInfo(c, env.root, &env.fsinfo);
  if (!e.empty()) return e;
  if (env.fsinfo.wtmax < kBlockBytes || env.fsinfo.rtmax < kBlockBytes) {
    fprintf(stderr,
            "note: server FSINFO rtmax=%u wtmax=%u is below the 1 MiB block: expect short "
            "replies or errors\n",
            env.fsinfo.rtmax, env.fsinfo.wtmax);
  }
  char host[64] = "host";
  gethostname(host, sizeof(host) - 1);
  env.dir_name = Format("manifold-bench.%s.%d.%" PRIu64, host, static_cast<int>(getpid()),
                        static_cast<uint64_t>(Clock::now().time_since_epoch().count() % 1000000));
  e = Mkdir(c, env.root, env.dir_name, &env.dir);
  if (!e.empty()) return Format("creating %s: %s", env.dir_name.c_str(), e.c_str());
  e = CreateFile(c, env.dir, "probe", &env.probe_file);
  if (!e.empty()) return "creating probe: " + e;
  e = CreateFile(c, env.dir, "data", &env.data_file);
  if (!e.empty()) return "creating data: " + e;
  fprintf(stderr, "bench dir %s, %d connection(s), server rtmax=%u wtmax=%u\n",
          env.dir_name.c_str(), nconns, env.fsinfo.rtmax, env.fsinfo.wtmax);
  return "";
}

void CleanUp(Env& env) {
  if (env.opt->keep || env.conns.empty() || env.dir.bytes.empty()) return;
  Conn& c = *env.conns[0];
  for (const char* f : {"data", "probe"}) {
    std::string e = Remove(c, env.dir, f);
    if (!e.empty()) fprintf(stderr, "cleanup: REMOVE %s: %s\n", f, e.c_str());
  }
  std::string e = Rmdir(c, env.root, env.dir_name);
  if (!e.empty()) fprintf(stderr, "cleanup: RMDIR %s: %s\n", env.dir_name.c_str(), e.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseOptions(argc, argv, &opt)) {
    Usage(stderr);
    return 2;
  }
  if (opt.seed == 0) {
    opt.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
  }
  if (Wants(opt, "seq_read") && !Wants(opt, "seq_write")) {
    fprintf(stderr, "error: seq_read reads what seq_write wrote: run both\n");
    return 2;
  }
  fprintf(stderr, "manifold-bench-nfs3: %s seed=%" PRIu64 "\n", opt.url.c_str(), opt.seed);
  Pattern pattern(opt.seed);
  Env env;
  env.opt = &opt;
  env.pattern = &pattern;

  std::string err = SetUp(env);
  std::vector<std::string> failures;
  if (!err.empty()) {
    failures.push_back("set-up: " + err);
  } else {
    if (Wants(opt, "seq_write")) {
      err = RunStream(env, true);
      if (!err.empty()) failures.push_back(err);
    }
    if (Wants(opt, "seq_read") && env.data_written) {
      err = RunStream(env, false);
      if (!err.empty()) failures.push_back(err);
    }
    struct {
      const char* name;
      SmallOp op;
    } small[] = {{"getattr", SmallOp::kGetattr},
                 {"lookup", SmallOp::kLookup},
                 {"create_remove", SmallOp::kCreateRemove}};
    for (int c : opt.concurrency) {
      for (auto& s : small) {
        if (!Wants(opt, s.name)) continue;
        err = RunSmall(env, s.name, s.op, c);
        if (!err.empty()) failures.push_back(err);
      }
    }
  }
  CleanUp(env);
  for (const auto& f : failures) fprintf(stderr, "FAIL: %s\n", f.c_str());
  return failures.empty() ? 0 : 1;
}
