// manifold-bench-mds: an NFSv4.1 metadata benchmark client built on src/nfs4client.
//
// It measures any NFSv4.1 server (manifold-mds, NFS-Ganesha, a filer) with exactly the same
// client, so that figures of different servers compare (see docs/benchmarks.md).
//
//   manifold-bench-mds [options] HOST:PORT
//
// --sessions S sessions, each its own Nfs4Client (its own TCP connection, client id and session)
// driven by its own thread with one compound in flight, each working in its own directory
// (--dir PATH/run-<pid>-<n>-s<i>; PATH is created if missing, its parent must exist). Phases, in
// this order (--phases picks a subset), each for --seconds, all sessions starting together:
//   create   PUTFH dir, OPEN (CREATE GUARDED4, CLAIM_NULL, mode 0644, WANT_NO_DELEG), GETFH;
//            then PUTFH file, CLOSE. One op = one new empty file = 2 compounds. The server must
//            make the create stable before it replies (RFC 8881 18.16.4, both servers claim it).
//            With --create-count N the phase ends when the sessions created N files between them
//            instead (to fill a namespace).
//   stat     PUTFH dir, LOOKUP name, GETATTR (type, size, mode, change, fileid, time_modify)
//            of the created files, round robin: one op = one compound.
//   readdir  full listings of the session's directory (READDIR pages of 32 KiB until eof); the
//            rate is entries/s, the latency that of one full listing. Each listing must return
//            exactly the files the session created.
//   remove   PUTFH dir, REMOVE name of the created files, one op = one compound; ends early
//            when every file is gone.
// Left-over files (remove ran out of time, or was not selected) are removed afterwards, and the
// session directories too, unless --keep.
//
// --server-pid PID[,PID...] (the server runs on this machine): the CPU time (user + system, all
// threads, from /proc/PID/stat) those processes used during each phase, per op, is reported as
// "server_cpu_us_per_op": how much work each server does for the same requests, whatever the
// scheduler did with the client and server threads on shared cores.
//
// Prints one JSON line per phase on stdout (progress and errors on stderr):
//   {"label":..,"phase":"create","sessions":16,"ops":N,"seconds":S,"ops_per_s":R,
//    "p50_us":..,"p99_us":..,"errors":0[,"server_cpu_us_per_op":C]}
// Exit status: 0 every phase passed; 1 any unexpected status (an op failed, a listing was wrong,
// a connection was lost); 2 bad usage.

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "nfs4client/session.h"
#include "bench_util.h"

namespace {

using namespace manifold;
using namespace manifold::nfs4client;
using Clock = std::chrono::steady_clock;

constexpr int kSessionsMax = 1024;

struct Options {
  std::string host;
  uint16_t port = 2049;
  std::string dir = "/mdsbench";
  int sessions = 1;
  double seconds = 10;
  uint64_t create_count = 0;  // 0: time-bound create phase
  std::vector<std::string> phases{"create", "stat", "readdir", "remove"};
  std::string label;
  uint32_t minor_version = 1;
  bool keep = false;
  std::vector<pid_t> server_pids;  // --server-pid
};

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: manifold-bench-mds [--sessions S] [--seconds T] [--dir PATH]\n"
               "         [--phases create,stat,readdir,remove] [--create-count N] [--keep]\n"
               "         [--minor-version 1|2] [--label L] [--server-pid PID[,PID...]] HOST:PORT\n");
}

std::atomic<bool> g_failed{false};
std::mutex g_err_mu;

void Fail(int session, const std::string& what) {
  std::lock_guard<std::mutex> l(g_err_mu);
  std::fprintf(stderr, "manifold-bench-mds: session %d: %s\n", session, what.c_str());
  g_failed = true;
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

struct PhaseStats {
  uint64_t ops = 0;               // ops (readdir: entries)
  std::vector<uint32_t> lat_us;   // per op (readdir: per listing)
};

struct Session {
  int index = 0;
  std::unique_ptr<Nfs4Client> client;
  FileHandle dir;
  std::string dir_name;
  std::vector<std::string> names;  // files created and not yet removed, in creation order
  uint64_t next_name = 0;
  PhaseStats stats;
};

uint32_t Micros(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(us);
}

// OPEN GUARDED + GETFH, then CLOSE. false on any unexpected status.
bool CreateOne(Session& s) {
  std::string name = "f" + std::to_string(s.next_name++);
  OpenArgs a;
  a.share_access = OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
  a.owner = s.client->open_owner();
  a.how = OpenHow::Guarded(AttrSet{.mode = 0644});
  a.claim = OpenClaim::Null(name);
  CompoundBuilder c("create");
  c.PutFh(s.dir).Open(a).GetFh();
  auto r = s.client->Run(c);
  if (!r.ok()) return Fail(s.index, "OPEN " + name + ": " + r.status().ToString()), false;
  if (!r->ok()) return Fail(s.index, "OPEN " + name + ": " + r->Describe()), false;
  const OPEN4resok* ok = r->Open();
  if (ok->delegation.delegation_type != OPEN_DELEGATE_NONE &&
      ok->delegation.delegation_type != OPEN_DELEGATE_NONE_EXT) {
    // Asked for none; returning it would cost a compound the other server does not pay.
    return Fail(s.index, "OPEN " + name + ": a delegation despite WANT_NO_DELEG"), false;
  }
  FileHandle fh = r->Fh();
  stateid4 sid = ok->stateid;
  CompoundBuilder cl("close");
  cl.PutFh(fh).Close(sid);
  auto rc = s.client->Run(cl);
  if (!rc.ok()) return Fail(s.index, "CLOSE " + name + ": " + rc.status().ToString()), false;
  if (!rc->ok()) return Fail(s.index, "CLOSE " + name + ": " + rc->Describe()), false;
  s.names.push_back(std::move(name));
  return true;
}

bool StatOne(Session& s, size_t i, const Bitmap& attrs) {
  const std::string& name = s.names[i % s.names.size()];
  CompoundBuilder c("stat");
  c.PutFh(s.dir).Lookup(name).GetAttr(attrs);
  auto r = s.client->Run(c);
  if (!r.ok()) return Fail(s.index, "LOOKUP+GETATTR " + name + ": " + r.status().ToString()), false;
  if (!r->ok()) return Fail(s.index, "LOOKUP+GETATTR " + name + ": " + r->Describe()), false;
  auto at = r->Attributes();
  if (!at || !at->type || *at->type != NF4REG || !at->size || *at->size != 0) {
    return Fail(s.index, "GETATTR " + name + ": not an empty regular file"), false;
  }
  return true;
}

// One full listing; its entries must be exactly the session's files.
bool ListOne(Session& s, uint64_t* entries) {
  auto r = s.client->Readdir(s.dir, MakeBitmap({FATTR4_TYPE, FATTR4_FILEID}), 1 << 24);
  if (!r.ok()) return Fail(s.index, "READDIR: " + r.status().ToString()), false;
  if (r->size() != s.names.size()) {
    return Fail(s.index, "READDIR: " + std::to_string(r->size()) + " entries, expected " +
                             std::to_string(s.names.size())),
           false;
  }
  *entries = r->size();
  return true;
}

bool RemoveOne(Session& s, const std::string& name) {
  CompoundBuilder c("remove");
  c.PutFh(s.dir).Remove(name);
  auto r = s.client->Run(c);
  if (!r.ok()) return Fail(s.index, "REMOVE " + name + ": " + r.status().ToString()), false;
  if (!r->ok()) return Fail(s.index, "REMOVE " + name + ": " + r->Describe()), false;
  return true;
}

void RunPhase(Session& s, const std::string& phase, const Options& o, uint64_t create_quota) {
  s.stats = {};
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(o.seconds));
  Bitmap stat_attrs = MakeBitmap({FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID,
                                  FATTR4_MODE, FATTR4_TIME_MODIFY});
  size_t i = 0;
  bool count_mode = phase == "create" && create_quota > 0;
  while (!g_failed.load(std::memory_order_relaxed)) {
    auto t0 = Clock::now();
    if (count_mode ? s.stats.ops >= create_quota : t0 >= deadline) break;
    if (phase == "create") {
      if (!CreateOne(s)) return;
      s.stats.ops++;
    } else if (phase == "stat") {
      if (s.names.empty()) return Fail(s.index, "stat: no files (run create first)");
      if (!StatOne(s, i++, stat_attrs)) return;
      s.stats.ops++;
    } else if (phase == "readdir") {
      uint64_t n = 0;
      if (!ListOne(s, &n)) return;
      s.stats.ops += n;
    } else if (phase == "remove") {
      if (s.names.empty()) break;
      if (!RemoveOne(s, s.names.back())) return;
      s.names.pop_back();
      s.stats.ops++;
    }
    s.stats.lat_us.push_back(Micros(Clock::now() - t0));
  }
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "manifold-bench-mds: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sessions") o.sessions = std::atoi(next());
    else if (a == "--seconds") o.seconds = std::atof(next());
    else if (a == "--dir") o.dir = next();
    else if (a == "--create-count") o.create_count = std::strtoull(next(), nullptr, 10);
    else if (a == "--label") o.label = next();
    else if (a == "--minor-version") o.minor_version = std::atoi(next());
    else if (a == "--keep") o.keep = true;
    else if (a == "--server-pid") {
      auto pids = bench::ParsePidList(next());
      if (!pids) {
        std::fprintf(stderr, "manifold-bench-mds: --server-pid: PID[,PID...]\n");
        return false;
      }
      o.server_pids = *pids;
    } else if (a == "--phases") {
      o.phases.clear();
      for (const std::string& ph : bench::SplitList(next())) {
        if (ph != "create" && ph != "stat" && ph != "readdir" && ph != "remove") {
          std::fprintf(stderr, "manifold-bench-mds: unknown phase %s\n", ph.c_str());
          return false;
        }
        o.phases.push_back(ph);
      }
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      std::exit(0);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "manifold-bench-mds: unknown option %s\n", a.c_str());
      return false;
    } else if (o.host.empty()) {
      size_t colon = a.rfind(':');
      if (colon == std::string::npos) return false;
      o.host = a.substr(0, colon);
      o.port = static_cast<uint16_t>(std::atoi(a.c_str() + colon + 1));
    } else {
      return false;
    }
  }
  if (o.host.empty() || o.sessions < 1 || o.sessions > kSessionsMax || o.seconds <= 0 ||
      (o.minor_version != 1 && o.minor_version != 2) || o.dir.empty() || o.dir[0] != '/') {
    return false;
  }
  if (o.label.empty()) o.label = o.host + ":" + std::to_string(o.port);
  return true;
}

// The --dir directory, created (one level) if missing.
Result<FileHandle> BaseDir(Nfs4Client& c, const std::string& path) {
  auto fh = c.LookupPath(path);
  if (fh.ok() || fh.status().code() != Code::kNotFound) return fh;
  size_t slash = path.find_last_of('/');
  std::string parent = path.substr(0, slash), name = path.substr(slash + 1);
  auto pfh = c.LookupPath(parent.empty() ? "/" : parent);
  if (!pfh.ok()) return pfh.status();
  auto made = c.Mkdir(*pfh, name, 0755);
  if (made.ok() || made.status().code() != Code::kExists) return made;
  return c.LookupPath(path);  // another run made it meanwhile
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    Usage(stderr);
    return 2;
  }
  const int n = o.sessions;
  std::vector<Session> sessions(n);
  std::string run = "run-" + std::to_string(getpid()) + "-" +
                    std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

  // Set-up, in parallel (one connection each), not measured.
  {
    std::vector<std::thread> t;
    for (int i = 0; i < n; ++i) {
      t.emplace_back([&, i] {
        Session& s = sessions[i];
        s.index = i;
        ClientOptions co;
        co.minor_version = o.minor_version;
        co.machine_name = "manifold-bench-mds";
        auto c = Nfs4Client::Connect(o.host, o.port, co);
        if (!c.ok()) return Fail(i, "connect: " + c.status().ToString());
        s.client = std::move(*c);
        auto base = BaseDir(*s.client, o.dir);
        if (!base.ok()) return Fail(i, "--dir " + o.dir + ": " + base.status().ToString());
        s.dir_name = run + "-s" + std::to_string(i);
        auto d = s.client->Mkdir(*base, s.dir_name, 0755);
        if (!d.ok()) return Fail(i, "mkdir " + s.dir_name + ": " + d.status().ToString());
        s.dir = *d;
      });
    }
    for (auto& th : t) th.join();
  }
  if (g_failed) return 1;
  std::fprintf(stderr, "manifold-bench-mds: %d session(s) to %s:%u, directories %s/%s-s*\n", n,
               o.host.c_str(), o.port, o.dir.c_str(), run.c_str());

  uint64_t quota_each = o.create_count ? (o.create_count + n - 1) / n : 0;
  for (const std::string& phase : o.phases) {
    if (g_failed) break;
    std::barrier sync(n + 1);
    std::vector<std::thread> t;
    for (int i = 0; i < n; ++i) {
      uint64_t quota = 0;
      if (quota_each) {
        uint64_t before = quota_each * static_cast<uint64_t>(i);
        quota = before >= o.create_count ? 0 : std::min(quota_each, o.create_count - before);
        if (quota == 0) quota = UINT64_MAX;  // unreachable: n > create_count; no work wanted
      }
      t.emplace_back([&, i, quota] {
        sync.arrive_and_wait();
        if (quota == UINT64_MAX) return;
        RunPhase(sessions[i], phase, o, quota);
      });
    }
    std::optional<double> cpu_before = bench::ProcessCpuSeconds(o.server_pids);
    sync.arrive_and_wait();
    auto start = Clock::now();
    for (auto& th : t) th.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::optional<double> cpu_after = bench::ProcessCpuSeconds(o.server_pids);
    PhaseStats all;
    for (auto& s : sessions) {
      all.ops += s.stats.ops;
      all.lat_us.insert(all.lat_us.end(), s.stats.lat_us.begin(), s.stats.lat_us.end());
    }
    std::sort(all.lat_us.begin(), all.lat_us.end());
    auto pct = [&](double p) -> uint32_t {
      if (all.lat_us.empty()) return 0;
      size_t k = static_cast<size_t>(p * static_cast<double>(all.lat_us.size() - 1) + 0.5);
      return all.lat_us[k];
    };
    std::string cpu_field;
    if (!o.server_pids.empty()) {
      if (!cpu_before || !cpu_after) {
        Fail(0, "--server-pid: cannot read /proc/PID/stat of the server");
      } else if (all.ops > 0) {
        char b[64];
        std::snprintf(b, sizeof b, ",\"server_cpu_us_per_op\":%.2f",
                      (*cpu_after - *cpu_before) * 1e6 / static_cast<double>(all.ops));
        cpu_field = b;
      }
    }
    std::printf(
        "{\"label\":%s,\"phase\":\"%s\",\"sessions\":%d,\"ops\":%" PRIu64
        ",\"seconds\":%.3f,\"ops_per_s\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"samples\":%zu,"
        "\"errors\":%d%s}\n",
        JsonString(o.label).c_str(), phase.c_str(), n, all.ops, secs,
        secs > 0 ? static_cast<double>(all.ops) / secs : 0.0, pct(0.50), pct(0.99),
        all.lat_us.size(), g_failed ? 1 : 0, cpu_field.c_str());
    std::fflush(stdout);
  }

  // Clean-up, in parallel, not measured.
  if (!o.keep && !g_failed) {
    std::vector<std::thread> t;
    for (int i = 0; i < n; ++i) {
      t.emplace_back([&, i] {
        Session& s = sessions[i];
        if (!s.client) return;
        while (!s.names.empty() && !g_failed) {
          if (!RemoveOne(s, s.names.back())) return;
          s.names.pop_back();
        }
        auto base = BaseDir(*s.client, o.dir);
        if (!base.ok()) return Fail(i, "--dir " + o.dir + ": " + base.status().ToString());
        Status st = s.client->Remove(*base, s.dir_name);
        if (!st.ok()) Fail(i, "rmdir " + s.dir_name + ": " + st.ToString());
      });
    }
    for (auto& th : t) th.join();
  }
  for (auto& s : sessions) {
    if (!s.client) continue;
    Status st = s.client->Destroy();
    if (!st.ok()) Fail(s.index, "destroy: " + st.ToString());
  }
  return g_failed ? 1 : 0;
}
