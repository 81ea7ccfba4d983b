// manifold-bench-mds: an NFSv4.1 metadata benchmark client built on src/nfs4client.
//
// It measures any NFSv4.1 server (manifold-mds, NFS-Ganesha, a filer) with exactly the same
// client, so that figures of different servers compare (see docs/benchmarks.md).
//
//   manifold-bench-mds [options] HOST:PORT     (HOST: a name or an address, IPv6 in [ ])
//
// --sessions S sessions, each its own client id and session (set up by an Nfs4Client) with one
// compound in flight, each working in its own directory (--dir PATH/run-<pid>-<n>-s<i>; PATH is
// created if missing, its parent must exist). The measured compounds go on a second TCP
// connection per session, bound to it with BIND_CONN_TO_SESSION, on the session's highest slot
// (the Nfs4Client keeps the low slots for set-up and clean-up), and --client-threads T event
// loops (epoll, default 1) drive them, session i by loop i % T: on two cores every client thread
// that sleeps while its server works costs that server a wake-up per reply, often of the other
// core, which would measure the client's threading rather than the server. Phases, in this order
// (--phases picks a subset), each for --seconds, all sessions starting together:
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
//    "p50_us":..,"p99_us":..,"retries":0,"errors":0[,"server_cpu_us_per_op":C]}
// "retries": compounds sent again because the server answered NFS4ERR_DELAY or NFS4ERR_GRACE
// (after 10 ms and 500 ms); such an operation's latency includes the wait.
// Exit status: 0 every phase passed; 1 any other unexpected status (an op failed, a listing was
// wrong, a connection was lost); 2 bad usage.

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
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
#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/record.h"
#include "bench_util.h"

namespace {

using namespace manifold;
using namespace manifold::nfs4client;
using Clock = std::chrono::steady_clock;

constexpr int kSessionsMax = 1024;
constexpr int kClientThreadsMax = 64;
// The largest reply record a measured compound may get (a READDIR page is 32 KiB).
constexpr size_t kReplyBytesMax = 1 << 20;
// A phase fails when no reply at all came for this long.
constexpr std::chrono::seconds kReplyWaitMax{60};
constexpr int kEpollEventsMax = 64;
// A compound answered NFS4ERR_DELAY or NFS4ERR_GRACE is sent again after this long
// (RFC 8881 15.1.1.3, 15.1.9.2): the server asks the client to wait, not to give up.
constexpr std::chrono::milliseconds kDelayRetryWait{10};
constexpr std::chrono::milliseconds kGraceRetryWait{500};

struct Options {
  std::string host;
  uint16_t port = 2049;
  std::string dir = "/mdsbench";
  int sessions = 1;
  int client_threads = 1;
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
               "usage: manifold-bench-mds [--sessions S] [--client-threads T] [--seconds T]\n"
               "         [--dir PATH]\n"
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
  uint64_t retries = 0;           // compounds sent again after NFS4ERR_DELAY or NFS4ERR_GRACE
  std::vector<uint32_t> lat_us;   // per op (readdir: per listing)
};

// The bench's own connection of a session: blocking sends, replies read without blocking.
struct Wire {
  int fd = -1;
  rpc::RecordParser parser{kReplyBytesMax};
  uint32_t xid = 0;
  Wire() = default;
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;
  ~Wire() {
    if (fd >= 0) ::close(fd);
  }
};

struct Session {
  int index = 0;
  std::unique_ptr<Nfs4Client> client;
  FileHandle dir;
  std::string dir_name;
  std::vector<std::string> names;  // files created and not yet removed, in creation order
  uint64_t next_name = 0;
  PhaseStats stats;

  Wire wire;
  uint32_t minor_version = 1;
  slotid4 slot = 0;
  sequenceid4 seq = 0;  // the slot's last sequence id

  // The operation in flight, in the current phase.
  bool counted = false;      // create with --create-count: ends after `quota` files
  uint64_t quota = 0;
  Clock::time_point op_start;
  int step = 0;              // create: 0 OPEN sent, 1 CLOSE sent
  std::string name;          // create: the file; remove: the name sent
  size_t stat_next = 0;      // stat: the next name, round robin
  ReaddirArgs listing;       // readdir: the next page's cookie and verifier
  uint64_t listed = 0;       // readdir: entries of this listing so far
  bool done = false;         // no more operations in this phase
  std::optional<CompoundBuilder> sent;              // the compound in flight, without SEQUENCE
  std::optional<Clock::time_point> retry_at;        // when to send it again (DELAY, GRACE)
};

uint32_t Micros(Clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(us);
}

const rpc::Credential& BenchCred() {
  static const rpc::Credential cred = rpc::AuthSysCred(0, 0, {}, "manifold-bench-mds");
  return cred;
}

// Sends SEQUENCE (on the session's bench slot) + `ops` on the bench connection, or `ops` alone.
// A sequenced compound is kept in s.sent, to be sent again if the server says to wait.
Status Send(Session& s, CompoundBuilder ops, bool sequence = true) {
  std::vector<uint8_t> record(rpc::kRecordMarkBytes);
  rpc::AppendCall(record, ++s.wire.xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, BenchCred());
  CompoundBuilder seq;
  if (sequence) seq.Sequence(s.client->sessionid(), ++s.seq, s.slot, s.slot, false);
  if (Status st = ops.Encode(record, s.minor_version, sequence ? &seq.at(0) : nullptr); !st.ok()) {
    return st;
  }
  rpc::WriteRecordMark(record);
  size_t sent = 0;
  while (sent < record.size()) {
    ssize_t n = ::send(s.wire.fd, record.data() + sent, record.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status(Code::kUnavailable, std::string("send: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  if (sequence) s.sent = std::move(ops);
  return Status::Ok();
}

// Reads what the bench connection has; appends every whole reply's results. An error when the
// connection is lost or a reply is not an accepted, successful RPC reply to the last call.
Status Receive(Session& s, std::vector<CompoundResult>& out) {
  uint8_t chunk[64 * 1024];
  ssize_t n = ::recv(s.wire.fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return Status::Ok();
  if (n <= 0) {
    return Status(Code::kUnavailable,
                  n == 0 ? "connection closed by the server" : std::strerror(errno));
  }
  if (Status st = s.wire.parser.Consume({chunk, static_cast<size_t>(n)}); !st.ok()) return st;
  std::vector<uint8_t> record;
  while (s.wire.parser.Pop(record)) {
    rpc::ReplyHeader h;
    std::span<const uint8_t> results;
    if (!rpc::ParseReply(record, h, results) || h.xid != s.wire.xid) {
      return Status(Code::kCorruption, "not a reply to the call in flight");
    }
    if (!h.accepted || h.accept_stat != rpc::AcceptStat::kSuccess) {
      return Status(Code::kCorruption, "RPC call not accepted");
    }
    auto r = CompoundResult::Decode(results);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return Status::Ok();
}

// A second connection for the session, bound to it for fore-channel calls (RFC 8881 18.34).
Status OpenWire(Session& s, const std::string& host, uint16_t port) {
  auto fd = rpc::ConnectTcp(host, port);
  if (!fd.ok()) return fd.status();
  s.wire.fd = *fd;
  uint32_t slots = s.client->fore_channel().maxrequests;
  if (slots < 3) return Status(Code::kLimit, "the session has fewer than 3 slots");
  s.slot = slots - 1;
  s.minor_version = s.client->minor_version();
  CompoundBuilder bind("bind");
  bind.BindConnToSession(s.client->sessionid(), CDFC4_FORE);
  if (Status st = Send(s, std::move(bind), false); !st.ok()) return st;
  std::vector<CompoundResult> got;
  while (got.empty()) {
    pollfd p{s.wire.fd, POLLIN, 0};
    if (::poll(&p, 1, int(std::chrono::milliseconds(kReplyWaitMax).count())) <= 0) {
      return Status(Code::kUnavailable, "no reply to BIND_CONN_TO_SESSION");
    }
    if (Status st = Receive(s, got); !st.ok()) return st;
  }
  if (!got[0].ok()) return Status(Code::kUnavailable, got[0].Describe());
  return Status::Ok();
}

// Sends the first (or only) compound of the phase's next operation; s.done when there is none.
Status BeginOp(Session& s, const std::string& phase, Clock::time_point deadline) {
  auto now = Clock::now();
  if (s.counted ? s.stats.ops >= s.quota : now >= deadline) {
    s.done = true;
    return Status::Ok();
  }
  s.op_start = now;
  CompoundBuilder c(phase);
  if (phase == "create") {
    s.name = "f" + std::to_string(s.next_name++);
    OpenArgs a;
    a.share_access = OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
    a.owner = s.client->open_owner();
    a.how = OpenHow::Guarded(AttrSet{.mode = 0644});
    a.claim = OpenClaim::Null(s.name);
    c.PutFh(s.dir).Open(a).GetFh();
    s.step = 0;
  } else if (phase == "stat") {
    if (s.names.empty()) return Status(Code::kInvalid, "stat: no files (run create first)");
    c.PutFh(s.dir)
        .Lookup(s.names[s.stat_next++ % s.names.size()])
        .GetAttr(MakeBitmap({FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID,
                             FATTR4_MODE, FATTR4_TIME_MODIFY}));
  } else if (phase == "readdir") {
    s.listing = ReaddirArgs{};
    s.listing.attrs = MakeBitmap({FATTR4_TYPE, FATTR4_FILEID});
    s.listed = 0;
    c.PutFh(s.dir).Readdir(s.listing);
  } else {  // remove
    if (s.names.empty()) {
      s.done = true;
      return Status::Ok();
    }
    s.name = s.names.back();
    c.PutFh(s.dir).Remove(s.name);
  }
  return Send(s, std::move(c));
}

// Checks a reply of the operation in flight; sends its next compound or counts it done
// (*finished). An error names what was wrong.
Status OnReply(Session& s, const std::string& phase, const CompoundResult& r, bool* finished) {
  *finished = false;
  if (r.status() == NFS4ERR_DELAY || r.status() == NFS4ERR_GRACE) {
    // A SEQUENCE that failed did not use the slot's sequence id (RFC 8881 18.46.3): the retry
    // sends the same one. Otherwise the retry is a new request on the slot.
    if (r.size() == 1 && r.op(0) == OP_SEQUENCE) s.seq--;
    s.retry_at = Clock::now() + (r.status() == NFS4ERR_GRACE ? kGraceRetryWait : kDelayRetryWait);
    s.stats.retries++;
    return Status::Ok();
  }
  if (!r.ok()) return Status(Code::kInvalid, phase + " " + s.name + ": " + r.Describe());
  if (phase == "create" && s.step == 0) {
    const OPEN4resok* ok = r.Open();
    if (ok->delegation.delegation_type != OPEN_DELEGATE_NONE &&
        ok->delegation.delegation_type != OPEN_DELEGATE_NONE_EXT) {
      // Asked for none; returning it would cost a compound the other server does not pay.
      return Status(Code::kInvalid, "OPEN " + s.name + ": a delegation despite WANT_NO_DELEG");
    }
    CompoundBuilder cl("close");
    cl.PutFh(r.Fh()).Close(ok->stateid);
    s.step = 1;
    return Send(s, std::move(cl));
  }
  if (phase == "create") {
    s.names.push_back(s.name);
    s.stats.ops++;
  } else if (phase == "stat") {
    auto at = r.Attributes();
    if (!at || !at->type || *at->type != NF4REG || !at->size || *at->size != 0) {
      return Status(Code::kInvalid, "GETATTR: not an empty regular file");
    }
    s.stats.ops++;
  } else if (phase == "readdir") {
    // Counted on the decoded list itself: copying out every entry's attributes
    // (CompoundResult::Entries) cost the client more than the server spends per entry.
    const READDIR4resok* ok = r.Readdir();
    uint64_t page = 0;
    nfs_cookie4 last_cookie = 0;
    for (const entry4* e = ok->reply.entries; e != nullptr; e = e->nextentry) {
      page++;
      last_cookie = e->cookie;
    }
    if (page == 0 && !ok->reply.eof) return Status(Code::kInvalid, "READDIR: an empty page");
    s.listed += page;
    if (!ok->reply.eof) {
      std::memcpy(s.listing.cookieverf.data(), ok->cookieverf, s.listing.cookieverf.size());
      s.listing.cookie = last_cookie;
      CompoundBuilder c("readdir");
      c.PutFh(s.dir).Readdir(s.listing);
      return Send(s, std::move(c));
    }
    if (s.listed != s.names.size()) {
      return Status(Code::kInvalid, "READDIR: " + std::to_string(s.listed) +
                                        " entries, expected " + std::to_string(s.names.size()));
    }
    s.stats.ops += s.listed;
  } else {
    s.names.pop_back();
    s.stats.ops++;
  }
  s.stats.lat_us.push_back(Micros(Clock::now() - s.op_start));
  *finished = true;
  return Status::Ok();
}

bool RemoveOne(Session& s, const std::string& name) {
  CompoundBuilder c("remove");
  c.PutFh(s.dir).Remove(name);
  auto r = s.client->Run(c);
  if (!r.ok()) return Fail(s.index, "REMOVE " + name + ": " + r.status().ToString()), false;
  if (!r->ok()) return Fail(s.index, "REMOVE " + name + ": " + r->Describe()), false;
  return true;
}

// One client thread: drives its sessions through the phase until each is done.
void DriveSessions(std::vector<Session*> mine, const std::string& phase,
                   Clock::time_point deadline) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Fail(mine[0]->index, std::string("epoll: ") + std::strerror(errno));
  size_t active = 0;
  for (Session* s : mine) {
    s->stats = {};
    s->done = false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = s;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, s->wire.fd, &ev) != 0) {
      Fail(s->index, std::string("epoll_ctl: ") + std::strerror(errno));
      break;
    }
    if (Status st = BeginOp(*s, phase, deadline); !st.ok()) {
      Fail(s->index, st.ToString());
      break;
    }
    if (!s->done) active++;
  }
  auto last_reply = Clock::now();
  std::vector<CompoundResult> got;
  epoll_event evs[kEpollEventsMax];
  while (active > 0 && !g_failed.load(std::memory_order_relaxed)) {
    // Compounds the server asked to wait for go again when their time comes.
    auto now = Clock::now();
    auto wake = now + std::chrono::seconds(1);
    for (Session* s : mine) {
      if (!s->retry_at) continue;
      if (*s->retry_at <= now) {
        s->retry_at.reset();
        last_reply = now;  // waiting as told is not a server that stopped answering
        if (Status st = Send(*s, std::move(*s->sent)); !st.ok()) Fail(s->index, st.ToString());
      } else {
        wake = std::min(wake, *s->retry_at);
      }
    }
    int timeout_ms = int(std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
    int n = ::epoll_wait(ep, evs, kEpollEventsMax, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Fail(mine[0]->index, std::string("epoll_wait: ") + std::strerror(errno));
      break;
    }
    if (n == 0 && Clock::now() - last_reply > kReplyWaitMax) {
      Fail(mine[0]->index, phase + ": no reply for " + std::to_string(kReplyWaitMax.count()) +
                               " s");
      break;
    }
    for (int i = 0; i < n; ++i) {
      Session& s = *static_cast<Session*>(evs[i].data.ptr);
      got.clear();
      Status st = Receive(s, got);
      for (size_t k = 0; st.ok() && k < got.size(); ++k) {
        last_reply = Clock::now();
        bool finished = false;
        st = OnReply(s, phase, got[k], &finished);
        if (st.ok() && finished) st = BeginOp(s, phase, deadline);
        if (st.ok() && s.done) active--;
      }
      if (!st.ok()) {
        Fail(s.index, st.ToString());
        break;
      }
    }
  }
  ::close(ep);
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
    else if (a == "--client-threads") o.client_threads = std::atoi(next());
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
      if (o.host.size() >= 2 && o.host.front() == '[' && o.host.back() == ']') {
        o.host = o.host.substr(1, o.host.size() - 2);  // [IPv6]:PORT
      }
      o.port = static_cast<uint16_t>(std::atoi(a.c_str() + colon + 1));
    } else {
      return false;
    }
  }
  if (o.host.empty() || o.sessions < 1 || o.sessions > kSessionsMax || o.client_threads < 1 ||
      o.client_threads > kClientThreadsMax || o.seconds <= 0 ||
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
  // The measured connections one after the other, so that a server that hands out new
  // connections to its threads in turn spreads them evenly (the set-up connections above came
  // in whatever order the threads made them).
  for (int i = 0; i < n && !g_failed; ++i) {
    if (Status st = OpenWire(sessions[i], o.host, o.port); !st.ok()) {
      Fail(i, "bench connection: " + st.ToString());
    }
  }
  if (g_failed) return 1;
  std::fprintf(stderr, "manifold-bench-mds: %d session(s) to %s:%u, directories %s/%s-s*\n", n,
               o.host.c_str(), o.port, o.dir.c_str(), run.c_str());

  uint64_t quota_each = o.create_count ? (o.create_count + n - 1) / n : 0;
  for (const std::string& phase : o.phases) {
    if (g_failed) break;
    const bool counted = phase == "create" && quota_each > 0;
    for (int i = 0; i < n; ++i) {
      uint64_t before = quota_each * static_cast<uint64_t>(i);
      sessions[i].counted = counted;
      sessions[i].quota =
          before >= o.create_count ? 0 : std::min(quota_each, o.create_count - before);
    }
    const int threads = std::min(o.client_threads, n);
    std::barrier sync(threads + 1);
    auto deadline = Clock::time_point::max();
    std::vector<std::thread> t;
    for (int th = 0; th < threads; ++th) {
      std::vector<Session*> mine;
      for (int i = th; i < n; i += threads) mine.push_back(&sessions[i]);
      t.emplace_back([&, mine] {
        sync.arrive_and_wait();
        DriveSessions(mine, phase, deadline);
      });
    }
    std::optional<double> cpu_before = bench::ProcessCpuSeconds(o.server_pids);
    auto start = Clock::now();
    deadline = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(o.seconds));
    sync.arrive_and_wait();
    for (auto& th : t) th.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::optional<double> cpu_after = bench::ProcessCpuSeconds(o.server_pids);
    PhaseStats all;
    for (auto& s : sessions) {
      all.ops += s.stats.ops;
      all.retries += s.stats.retries;
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
        "\"retries\":%" PRIu64 ",\"errors\":%d%s}\n",
        JsonString(o.label).c_str(), phase.c_str(), n, all.ops, secs,
        secs > 0 ? static_cast<double>(all.ops) / secs : 0.0, pct(0.50), pct(0.99),
        all.lat_us.size(), all.retries, g_failed ? 1 : 0, cpu_field.c_str());
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
