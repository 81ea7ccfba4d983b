// rpc::Server on 127.0.0.1 (port 0) with a tiny test program, driven by rpc::Client and, where
// the exact bytes on the wire matter, by a plain socket. Covers the RFC 5531 rejections, record
// marking across fragments, concurrency on one connection, out-of-order replies, and peers
// that misbehave (half a record, disconnect with calls in flight, a record over the bound).

#include "rpc/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/program.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"

namespace manifold::rpc {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

constexpr uint32_t kTestProg = 0x20000001;
constexpr uint32_t kProcNull = 0;
constexpr uint32_t kProcEcho = 1;    // args: opaque<>; results: the same opaque
constexpr uint32_t kProcSlow = 2;    // args: uint32 ms, opaque<>; sleeps ms, then echoes
constexpr uint32_t kProcWhoAmI = 3;  // results: flavor, uid, gid, number of gids
// args: uint32 n, uint32 fail; results: opaque<> of n pattern bytes whose data goes in the
// reply's tail (ReplyTail) when the server offers one; fail != 0: kSystemErr after filling it.
constexpr uint32_t kProcBulk = 4;
constexpr size_t kEchoBytesMax = 1u << 20;
constexpr size_t kRecordBytesMax = 64u << 10;
constexpr auto kCallTimeout = 10s;

// The test program: versions 1..2 of kTestProg.
class TestProgram : public Program {
 public:
  uint32_t number() const override { return kTestProg; }
  uint32_t version_low() const override { return 1; }
  uint32_t version_high() const override { return 2; }

  AcceptStat Call(const CallContext& ctx, std::span<const uint8_t> args,
                  std::vector<uint8_t>& out) override {
    XdrReader r(args);
    XdrWriter w(out);
    switch (ctx.header.proc) {
      case kProcNull:
        return args.empty() ? AcceptStat::kSuccess : AcceptStat::kGarbageArgs;
      case kProcEcho: {
        auto data = r.Opaque(kEchoBytesMax);
        if (!r.ok() || r.remaining() != 0) return AcceptStat::kGarbageArgs;
        w.Opaque(data);
        return AcceptStat::kSuccess;
      }
      case kProcSlow: {
        uint32_t ms = r.U32();
        auto data = r.Opaque(kEchoBytesMax);
        if (!r.ok() || r.remaining() != 0) return AcceptStat::kGarbageArgs;
        int now = ++in_flight_;
        int prev = in_flight_max_.load();
        while (now > prev && !in_flight_max_.compare_exchange_weak(prev, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        --in_flight_;
        slow_done_++;
        w.Opaque(data);
        return AcceptStat::kSuccess;
      }
      case kProcBulk: {
        uint32_t n = r.U32();
        uint32_t fail = r.U32();
        if (!r.ok() || r.remaining() != 0 || n > kEchoBytesMax) return AcceptStat::kGarbageArgs;
        w.U32(n);
        size_t padded = (n + 3) & ~size_t(3);
        uint8_t* data;
        if (ctx.tail != nullptr) {
          ctx.tail->bytes = std::make_unique_for_overwrite<uint8_t[]>(padded);
          ctx.tail->size = padded;
          data = ctx.tail->bytes.get();
        } else {
          out.resize(out.size() + padded);
          data = out.data() + out.size() - padded;
        }
        for (size_t i = 0; i < padded; ++i) data[i] = i < n ? uint8_t('a' + i % 26) : 0;
        return fail ? AcceptStat::kSystemErr : AcceptStat::kSuccess;
      }
      case kProcWhoAmI: {
        const Credential& c = ctx.header.cred;
        w.U32(uint32_t(c.flavor));
        w.U32(c.sys.uid);
        w.U32(c.sys.gid);
        w.U32(uint32_t(c.sys.gids.size()));
        return AcceptStat::kSuccess;
      }
      default:
        return AcceptStat::kProcUnavail;
    }
  }

  int in_flight_max() const { return in_flight_max_.load(); }
  int slow_done() const { return slow_done_.load(); }

 private:
  std::atomic<int> in_flight_{0};
  std::atomic<int> in_flight_max_{0};
  std::atomic<int> slow_done_{0};
};

Bytes EchoArgs(const std::string& s) {
  Bytes b;
  XdrWriter(b).Opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  return b;
}

Bytes SlowArgs(uint32_t ms, const std::string& s) {
  Bytes b;
  XdrWriter w(b);
  w.U32(ms);
  w.Opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  return b;
}

// The opaque a successful echo returned.
std::string EchoResult(const ClientReply& reply) {
  XdrReader r(reply.results());
  auto data = r.Opaque(kEchoBytesMax);
  if (!r.ok() || r.remaining() != 0) return "<undecodable echo result>";
  return std::string(data.begin(), data.end());
}

// A whole call record with its record mark, as Client::Call would send it.
Bytes CallRecord(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc, const Bytes& args,
                 const Credential& cred = Credential{}) {
  Bytes b(kRecordMarkBytes);
  AppendCall(b, xid, prog, vers, proc, cred);
  b.insert(b.end(), args.begin(), args.end());
  WriteRecordMark(b);
  return b;
}

void PutMark(Bytes& out, uint32_t len, bool last) {
  uint8_t m[4];
  PutU32(m, (last ? kLastFragmentBit : 0) | len);
  out.insert(out.end(), m, m + 4);
}

// A plain TCP connection for the tests that need exact control of the bytes sent and of the
// order in which replies arrive.
class RawConn {
 public:
  explicit RawConn(uint16_t port) : parser_(1u << 20) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConn() { Close(); }
  bool connected() const { return connected_; }

  bool Send(const Bytes& b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += size_t(n);
    }
    return true;
  }

  // The next whole record, or nullopt on timeout or when the server closed the connection.
  std::optional<Bytes> ReadRecord(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Bytes rec;
    while (!parser_.Pop(rec)) {
      if (!ReadSome(deadline)) return std::nullopt;
    }
    return rec;
  }

  // True when the server closes the connection before the timeout.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_by_peer_) {
      if (!ReadSome(deadline) && !closed_by_peer_) return false;
    }
    return true;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    if (closed_by_peer_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) <= 0) return false;
    uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_by_peer_ = true;
      return false;
    }
    return parser_.Consume({buf, size_t(n)}).ok();
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_by_peer_ = false;
  RecordParser parser_;
};

ReplyHeader ParseReplyOrFail(const Bytes& record) {
  ReplyHeader h;
  std::span<const uint8_t> results;
  EXPECT_TRUE(ParseReply(record, h, results)) << "not an RPC reply";
  return h;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ServerOptions{}); }
  void TearDown() override { StopServer(); }

  void StartServer(ServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    options.record_bytes_max = kRecordBytesMax;
    if (options.worker_threads == 0) options.worker_threads = 8;
    program_ = std::make_shared<TestProgram>();
    auto dispatcher = std::make_shared<Dispatcher>();
    dispatcher->Add(program_);
    server_ = std::make_unique<Server>(options, dispatcher);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
    server_->RunInBackground();
  }

  // The fixture's server stopped and started again with `options`.
  void RestartServer(ServerOptions options) {
    StopServer();
    StartServer(std::move(options));
  }

  void StopServer() {
    if (server_) server_->Stop();
    server_.reset();
  }

  std::unique_ptr<Client> Connect() {
    auto c = Client::Connect("127.0.0.1", server_->port());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  Result<ClientReply> Echo(Client& c, const std::string& s, uint32_t vers = 1) {
    return c.Call(kTestProg, vers, kProcEcho, Credential{}, EchoArgs(s), kCallTimeout);
  }

  // The server answers a NULL call on a new connection: it is still serving.
  void ExpectServerStillServes() {
    auto c = Connect();
    ASSERT_TRUE(c);
    auto r = Echo(*c, "still here");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(EchoResult(*r), "still here");
  }

  // Polls `done` until it holds or `timeout` passes; returns its last answer.
  static bool WaitUntil(const std::function<bool()>& done,
                        std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return done();
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  // Waits until the server has exactly `n` connections open (closed ones are freed).
  bool WaitConnectionsOpen(uint64_t n, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (server_->stats().connections_open.load() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  std::shared_ptr<TestProgram> program_;
  std::unique_ptr<Server> server_;
};

// ---------------------------------------------------------------------------------------------
// Accepted calls and RFC 5531 rejections.

TEST_F(ServerTest, NullAndEchoSucceedOnBothVersions) {
  auto c = Connect();
  ASSERT_TRUE(c);
  for (uint32_t vers : {1u, 2u}) {
    auto n = c->Call(kTestProg, vers, kProcNull, Credential{}, {}, kCallTimeout);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_TRUE(n->header.accepted);
    EXPECT_STREQ(AcceptStatName(n->header.accept_stat), "SUCCESS");
    EXPECT_TRUE(n->results().empty());
    auto e = Echo(*c, "hello v" + std::to_string(vers), vers);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_STREQ(AcceptStatName(e->header.accept_stat), "SUCCESS");
    EXPECT_EQ(EchoResult(*e), "hello v" + std::to_string(vers));
  }
}

TEST_F(ServerTest, AuthSysCredentialReachesTheProgram) {
  auto c = Connect();
  ASSERT_TRUE(c);
  auto r = c->Call(kTestProg, 1, kProcWhoAmI, AuthSysCred(1000, 100, {5, 6, 7}), {},
                   kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  XdrReader rd(r->results());
  EXPECT_EQ(rd.U32(), uint32_t(AuthFlavor::kSys));
  EXPECT_EQ(rd.U32(), 1000u);
  EXPECT_EQ(rd.U32(), 100u);
  EXPECT_EQ(rd.U32(), 3u);
  EXPECT_TRUE(rd.ok());
}

TEST_F(ServerTest, UnknownProgramIsProgUnavail) {
  auto c = Connect();
  ASSERT_TRUE(c);
  auto r = c->Call(kTestProg + 1, 1, kProcNull, Credential{}, {}, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->header.accepted);
  EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "PROG_UNAVAIL");
}

TEST_F(ServerTest, UnsupportedVersionIsProgMismatchWithLowAndHigh) {
  auto c = Connect();
  ASSERT_TRUE(c);
  for (uint32_t vers : {0u, 3u}) {
    auto r = c->Call(kTestProg, vers, kProcNull, Credential{}, {}, kCallTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->header.accepted);
    EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "PROG_MISMATCH") << "version " << vers;
    EXPECT_EQ(r->header.mismatch_low, 1u);
    EXPECT_EQ(r->header.mismatch_high, 2u);
  }
}

TEST_F(ServerTest, UnknownProcedureIsProcUnavail) {
  auto c = Connect();
  ASSERT_TRUE(c);
  auto r = c->Call(kTestProg, 1, 99, Credential{}, {}, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "PROC_UNAVAIL");
}

TEST_F(ServerTest, UndecodableArgumentsAreGarbageArgs) {
  auto c = Connect();
  ASSERT_TRUE(c);
  Bytes truncated = EchoArgs("twelve bytes");
  truncated.resize(truncated.size() - 4);  // the opaque is cut short
  Bytes trailing = EchoArgs("abcd");
  trailing.insert(trailing.end(), {0, 0, 0, 1});  // bytes after the arguments
  Bytes huge_length = {0xff, 0xff, 0xff, 0xf0};    // an opaque length far over the bound
  for (const Bytes& args : {truncated, trailing, huge_length}) {
    auto r = c->Call(kTestProg, 1, kProcEcho, Credential{}, args, kCallTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->header.accepted);
    EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "GARBAGE_ARGS");
    EXPECT_TRUE(r->results().empty());
  }
  // The connection is still good afterwards.
  auto ok = Echo(*c, "after garbage");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(EchoResult(*ok), "after garbage");
}

// RFC 5531 section 9: rpcvers other than 2 gets MSG_DENIED RPC_MISMATCH with low = high = 2.
TEST_F(ServerTest, RpcVersion3IsRpcMismatch) {
  auto c = Connect();
  ASSERT_TRUE(c);
  uint32_t xid = c->NextXid();
  Bytes rec = CallRecord(xid, kTestProg, 1, kProcNull, {});
  PutU32(rec.data() + kRecordMarkBytes + 8, 3);  // rpcvers
  auto r = c->CallRaw(xid, rec, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header.xid, xid);
  EXPECT_FALSE(r->header.accepted);
  EXPECT_EQ(r->header.reject_stat, 0u) << "want RPC_MISMATCH";
  EXPECT_EQ(r->header.mismatch_low, 2u);
  EXPECT_EQ(r->header.mismatch_high, 2u);
}

// RFC 5531 section 9: a credential the server cannot accept gets AUTH_ERROR AUTH_BADCRED.
TEST_F(ServerTest, BadCredentialIsAuthBadCred) {
  auto c = Connect();
  ASSERT_TRUE(c);
  // AUTH_SYS with 17 gids (the XDR bound is 16), through the ordinary call path.
  std::vector<uint32_t> gids(17, 100);
  auto r = c->Call(kTestProg, 1, kProcNull, AuthSysCred(1000, 1000, gids), {}, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->header.accepted);
  EXPECT_EQ(r->header.reject_stat, 1u) << "want AUTH_ERROR";
  EXPECT_EQ(r->header.auth_stat, uint32_t(AuthStat::kBadCred));

  // RPCSEC_GSS (flavor 6), which this server does not speak.
  uint32_t xid = c->NextXid();
  Bytes rec(kRecordMarkBytes);
  XdrWriter w(rec);
  for (uint32_t v : {xid, kMsgCall, kRpcVersion, kTestProg, 1u, kProcNull}) w.U32(v);
  w.U32(uint32_t(AuthFlavor::kRpcSecGss));
  w.Opaque(Bytes(24, 7));
  w.U32(uint32_t(AuthFlavor::kNone));
  w.U32(0);
  WriteRecordMark(rec);
  auto g = c->CallRaw(xid, rec, kCallTimeout);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->header.xid, xid);
  EXPECT_FALSE(g->header.accepted);
  EXPECT_EQ(g->header.reject_stat, 1u) << "want AUTH_ERROR";
  EXPECT_EQ(g->header.auth_stat, uint32_t(AuthStat::kBadCred));
}

// RFC 5531 section 11: a record may come in many fragments.
TEST_F(ServerTest, RequestInThreeFragmentsIsAnswered) {
  auto c = Connect();
  ASSERT_TRUE(c);
  uint32_t xid = c->NextXid();
  Bytes whole = CallRecord(xid, kTestProg, 1, kProcEcho, EchoArgs("in three pieces"),
                           AuthSysCred(1000, 1000));
  Bytes body(whole.begin() + kRecordMarkBytes, whole.end());
  size_t a = 10, b = 25;  // cut inside the header and inside the credential
  Bytes frags;
  PutMark(frags, uint32_t(a), false);
  frags.insert(frags.end(), body.begin(), body.begin() + a);
  PutMark(frags, uint32_t(b - a), false);
  frags.insert(frags.end(), body.begin() + a, body.begin() + b);
  PutMark(frags, uint32_t(body.size() - b), true);
  frags.insert(frags.end(), body.begin() + b, body.end());
  auto r = c->CallRaw(xid, frags, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "SUCCESS");
  EXPECT_EQ(EchoResult(*r), "in three pieces");
}

// Records the server cannot answer (an RPC reply, a record too short for a call header) are
// dropped without an answer, and the connection goes on.
TEST_F(ServerTest, ReplyMessagesAndGarbageRecordsGetNoAnswer) {
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  Bytes stream(kRecordMarkBytes);
  AppendAcceptedReply(stream, 0x5151, AcceptStat::kSuccess);
  WriteRecordMark(stream);
  Bytes garbage = {0, 0, 0, 9, 0, 0};
  PutMark(stream, uint32_t(garbage.size()), true);
  stream.insert(stream.end(), garbage.begin(), garbage.end());
  Bytes call = CallRecord(0x7777, kTestProg, 1, kProcNull, {});
  stream.insert(stream.end(), call.begin(), call.end());
  ASSERT_TRUE(raw.Send(stream));
  auto rec = raw.ReadRecord(5s);
  ASSERT_TRUE(rec.has_value()) << "no answer to the NULL call";
  EXPECT_EQ(ParseReplyOrFail(*rec).xid, 0x7777u) << "the first answer must be the NULL call's";
  EXPECT_FALSE(raw.ReadRecord(200ms).has_value()) << "an answer to a non-call record";
}

// ---------------------------------------------------------------------------------------------
// Bulk data sent after the results (ReplyTail).

Bytes BulkArgs(uint32_t n, bool fail = false) {
  Bytes b;
  XdrWriter w(b);
  w.U32(n);
  w.U32(fail ? 1 : 0);
  return b;
}

// `count` calls of `proc` with `args` (xids 1..count), back to back as one stream.
Bytes CallRecords(uint32_t count, uint32_t proc, const Bytes& args) {
  Bytes calls;
  for (uint32_t xid = 1; xid <= count; ++xid) {
    Bytes one = CallRecord(xid, kTestProg, 1, proc, args);
    calls.insert(calls.end(), one.begin(), one.end());
  }
  return calls;
}

std::string BulkPattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char('a' + i % 26);
  return s;
}

TEST_F(ServerTest, ReplyTailsReachTheClientInOneRecordAfterTheResults) {
  auto c = Connect();
  ASSERT_TRUE(c);
  for (uint32_t n : {0u, 1u, 3u, 4u, 5000u, 1u << 20}) {
    auto r = c->Call(kTestProg, 1, kProcBulk, Credential{}, BulkArgs(n), kCallTimeout);
    ASSERT_TRUE(r.ok()) << n << ": " << r.status().ToString();
    ASSERT_STREQ(AcceptStatName(r->header.accept_stat), "SUCCESS");
    EXPECT_EQ(EchoResult(*r), BulkPattern(n)) << n << " bytes";
  }
  // The connection is still in step: a plain call after them is answered.
  auto e = Echo(*c, "after the tails");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(EchoResult(*e), "after the tails");
}

TEST_F(ServerTest, AFailedCallsTailIsNotSent) {
  auto c = Connect();
  ASSERT_TRUE(c);
  auto r = c->Call(kTestProg, 1, kProcBulk, Credential{}, BulkArgs(100, true), kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_STREQ(AcceptStatName(r->header.accept_stat), "SYSTEM_ERR");
  EXPECT_TRUE(r->results().empty());
  auto e = Echo(*c, "in step");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(EchoResult(*e), "in step");
}

TEST(DispatcherTest, ContiguousDispatchAppendsTheTailAndCountsItInTheRecordMark) {
  Dispatcher d;
  d.Add(std::make_shared<TestProgram>());
  Bytes call = CallRecord(0x42, kTestProg, 1, kProcBulk, BulkArgs(7));
  auto whole = d.Dispatch({call.data() + kRecordMarkBytes, call.size() - kRecordMarkBytes},
                          "test", nullptr);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(GetU32(whole->data()), kLastFragmentBit | uint32_t(whole->size() - kRecordMarkBytes));
  auto split = d.DispatchReply({call.data() + kRecordMarkBytes, call.size() - kRecordMarkBytes},
                               "test", nullptr);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->tail.size, 8u);
  EXPECT_EQ(GetU32(split->head.data()),
            kLastFragmentBit | uint32_t(split->head.size() - kRecordMarkBytes + 8));
  Bytes joined = split->head;
  joined.insert(joined.end(), split->tail.bytes.get(), split->tail.bytes.get() + 8);
  EXPECT_EQ(joined, *whole);
}

// ---------------------------------------------------------------------------------------------
// Concurrency on one connection.

TEST_F(ServerTest, ThirtyTwoConcurrentCallsFromEightThreadsOnOneClientAreAllAnswered) {
  auto c = Connect();
  ASSERT_TRUE(c);
  constexpr int kThreads = 8, kCallsPerThread = 4;
  std::atomic<int> good{0};
  std::vector<std::string> failures[kThreads];
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string payload = "thread " + std::to_string(t) + " call " + std::to_string(i);
        auto r = c->Call(kTestProg, 1, kProcSlow, Credential{}, SlowArgs(100, payload),
                         kCallTimeout);
        if (!r.ok()) {
          failures[t].push_back(payload + ": " + r.status().ToString());
        } else if (EchoResult(*r) != payload) {
          failures[t].push_back(payload + ": got '" + EchoResult(*r) + "'");
        } else {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (auto& f : failures) {
    for (auto& msg : f) ADD_FAILURE() << msg;
  }
  EXPECT_EQ(good.load(), kThreads * kCallsPerThread);
  // 32 calls of 100 ms each: in series that is 3.2 s; in flight together far less.
  EXPECT_GE(program_->in_flight_max(), 4) << "calls on one connection did not overlap";
  EXPECT_LT(elapsed, 2500ms) << "calls on one connection were served one at a time";
}

// A slow call sent first does not hold back a fast one behind it: replies go out in
// completion order.
TEST_F(ServerTest, FastReplyOvertakesASlowOneOnTheSameClient) {
  auto c = Connect();
  ASSERT_TRUE(c);
  std::atomic<bool> slow_done{false};
  Result<ClientReply> slow = Status(Code::kInternal, "not run");
  std::thread t([&] {
    slow = c->Call(kTestProg, 1, kProcSlow, Credential{}, SlowArgs(1500, "slow"), kCallTimeout);
    slow_done = true;
  });
  // Let the slow call get to the server first.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server_->stats().calls.load() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  auto fast = Echo(*c, "fast");
  bool slow_was_done = slow_done.load();
  t.join();
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(EchoResult(*fast), "fast");
  EXPECT_FALSE(slow_was_done) << "the fast reply waited for the slow one";
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_EQ(EchoResult(*slow), "slow");
}

// The same at the wire: two calls in one write, the slow one first; the first reply on the
// connection is the fast one's.
TEST_F(ServerTest, FastReplyComesFirstOnTheWire) {
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  Bytes both = CallRecord(1, kTestProg, 1, kProcSlow, SlowArgs(800, "slow"));
  Bytes fast = CallRecord(2, kTestProg, 1, kProcEcho, EchoArgs("fast"));
  both.insert(both.end(), fast.begin(), fast.end());
  ASSERT_TRUE(raw.Send(both));
  auto first = raw.ReadRecord(5s);
  auto second = raw.ReadRecord(5s);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(ParseReplyOrFail(*first).xid, 2u) << "first reply should be the fast call's";
  EXPECT_EQ(ParseReplyOrFail(*second).xid, 1u);
}

// With at most 2 calls in flight per connection the server stops reading, but every call is
// still answered once earlier ones finish.
TEST_F(ServerTest, InflightLimitStillAnswersEveryCall) {
  ServerOptions o;
  o.inflight_per_connection_max = 2;
  RestartServer(o);
  auto c = Connect();
  ASSERT_TRUE(c);
  constexpr int kCalls = 12;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      std::string p = "call " + std::to_string(i);
      auto r = c->Call(kTestProg, 1, kProcSlow, Credential{}, SlowArgs(50, p), kCallTimeout);
      if (r.ok() && EchoResult(*r) == p) ++good;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kCalls);
}

// ServerOptions: "Calls a connection may have in flight; past it the server stops reading from
// it." Twelve calls that arrive in one TCP segment must still run at most two at a time.
TEST_F(ServerTest, InflightLimitBoundsCallsThatArriveInOneRead) {
  ServerOptions o;
  o.inflight_per_connection_max = 2;
  RestartServer(o);
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  constexpr uint32_t kCalls = 12;
  Bytes calls;
  for (uint32_t xid = 1; xid <= kCalls; ++xid) {
    Bytes one = CallRecord(xid, kTestProg, 1, kProcSlow, SlowArgs(100, "x"));
    calls.insert(calls.end(), one.begin(), one.end());
  }
  ASSERT_TRUE(raw.Send(calls));
  std::set<uint32_t> answered;
  for (uint32_t i = 0; i < kCalls; ++i) {
    auto rec = raw.ReadRecord(10s);
    ASSERT_TRUE(rec.has_value()) << "only " << answered.size() << " answers";
    answered.insert(ParseReplyOrFail(*rec).xid);
  }
  EXPECT_EQ(answered.size(), kCalls);
  EXPECT_LE(program_->in_flight_max(), 2)
      << "calls ran at once on one connection with inflight_per_connection_max = 2";
}

// ---------------------------------------------------------------------------------------------
// Peers that misbehave.

// ServerOptions: "Bytes of replies a connection may have queued for sending; past it the server
// stops reading from it until the peer reads." A peer that sends calls and reads no replies
// must not make the server run them all and keep what they answer.
TEST_F(ServerTest, APeerThatReadsNoRepliesIsNotReadOnceTheyPileUp) {
  ServerOptions o;
  o.inflight_per_connection_max = 4;
  o.queued_reply_bytes_per_connection_max = 1u << 20;
  RestartServer(o);
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  constexpr uint32_t kCalls = 400;
  constexpr uint32_t kReplyBytes = 256u << 10;  // 100 MiB of replies in all
  Bytes calls;
  for (uint32_t xid = 1; xid <= kCalls; ++xid) {
    Bytes one = CallRecord(xid, kTestProg, 1, kProcBulk, BulkArgs(kReplyBytes));
    calls.insert(calls.end(), one.begin(), one.end());
  }
  ASSERT_TRUE(raw.Send(calls));  // about 25 KiB: the socket takes it all
  std::this_thread::sleep_for(1s);
  // The loopback socket's buffers hold a few MiB of replies; past them and the 1 MiB queue,
  // the server must have stopped taking calls.
  uint64_t ran = server_->stats().calls.load();
  EXPECT_LT(ran, kCalls / 2) << "the server ran " << ran << " calls whose replies nobody read";
  // Reading drains it: every call is answered, whole.
  std::set<uint32_t> answered;
  for (uint32_t i = 0; i < kCalls; ++i) {
    auto rec = raw.ReadRecord(10s);
    ASSERT_TRUE(rec.has_value()) << "only " << answered.size() << " answers";
    ReplyHeader h;
    std::span<const uint8_t> results;
    ASSERT_TRUE(ParseReply(*rec, h, results));
    ASSERT_EQ(results.size(), 4 + kReplyBytes) << "xid " << h.xid;
    answered.insert(h.xid);
  }
  EXPECT_EQ(answered.size(), kCalls);
}

// Calls in progress on all connections together are bounded: while one connection's slow
// calls hold the bound, another's call is not read, and it is answered once they finish.
TEST_F(ServerTest, WhileCallsInProgressAreAtTheirBoundNoConnectionIsRead) {
  ServerOptions o;
  o.calls_in_progress_max = 4;
  RestartServer(o);
  RawConn slow(server_->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send(CallRecords(4, kProcSlow, SlowArgs(600, "slow"))));
  ASSERT_TRUE(WaitUntil([&] { return server_->calls_in_progress() == 4; }));
  const auto held_from = std::chrono::steady_clock::now();
  auto other = Connect();
  ASSERT_TRUE(other);
  auto r = Echo(*other, "after the slow ones");
  const auto waited = std::chrono::steady_clock::now() - held_from;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), "after the slow ones");
  EXPECT_GE(waited, 300ms) << "a call was read while the bound was reached";
  EXPECT_GE(program_->slow_done(), 1);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(slow.ReadRecord(5s)) << "slow reply " << i;
  EXPECT_TRUE(WaitUntil([&] { return server_->calls_in_progress() == 0; }))
      << "a finished call kept its place";
}

// A connection held by its own bound on calls in flight, while the server's bound is far: its
// read loop sleeps until one of its calls finishes, a handful of waits in all, not a loop
// that wakes itself over and over.
TEST_F(ServerTest, AReaderHeldByItsOwnBoundSleepsUntilItsCallsFinish) {
  ServerOptions o;
  o.inflight_per_connection_max = 2;
  RestartServer(o);
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send(CallRecords(6, kProcSlow, SlowArgs(300, "slow"))));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(raw.ReadRecord(10s)) << "reply " << i;
  // Three rounds of two calls: a few waits per round (each finished call or write wakes it).
  EXPECT_LE(server_->stats().reader_waits.load(), 30u);
}

// Many connections contending for a bound of two places, on two I/O threads: every call is
// answered. A reader that waits for room and is never woken (a place freed on the other
// thread between its check and its wait) would leave its client's call unanswered.
TEST_F(ServerTest, ManyConnectionsContendingForASmallBoundAreAllServed) {
  ServerOptions o;
  o.calls_in_progress_max = 2;
  o.io_threads = 2;
  RestartServer(o);
  constexpr int kClients = 16, kCalls = 300;
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      auto c = Client::Connect("127.0.0.1", server_->port());
      if (!c.ok()) {
        failed++;
        return;
      }
      for (int i = 0; i < kCalls; ++i) {
        const std::string msg = std::to_string(t) + "/" + std::to_string(i);
        auto r = (*c)->Call(kTestProg, 1, kProcEcho, Credential{}, EchoArgs(msg), kCallTimeout);
        if (!r.ok() || EchoResult(*r) != msg) {
          failed++;
          return;
        }
        answered++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(answered.load(), kClients * kCalls);
}

// A peer that sends calls and reads no replies fills the bound on calls in progress with
// replies nobody takes. It is closed after reply_stall_timeout, and the others are served;
// without that it would stop the whole server.
TEST_F(ServerTest, APeerThatHoldsTheBoundWithUnreadRepliesIsClosedAndOthersAreServed) {
  ServerOptions o;
  o.calls_in_progress_max = 8;
  o.reply_stall_timeout = 1s;
  RestartServer(o);
  RawConn hog(server_->port());
  ASSERT_TRUE(hog.connected());
  // 64 MiB of replies, far past the sockets' buffers.
  ASSERT_TRUE(hog.Send(CallRecords(64, kProcBulk, BulkArgs(kEchoBytesMax))));
  // The sockets' buffers take the first replies; then the hog's calls stop at the bound, with
  // their replies queued.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  uint64_t ran = 0;
  for (;;) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the hog never filled the bound";
    std::this_thread::sleep_for(100ms);
    const uint64_t now_ran = server_->stats().calls.load();
    if (now_ran == ran && server_->calls_in_progress() >= 8) break;
    ran = now_ran;
  }
  if (ran == 64u) GTEST_SKIP() << "the sockets' buffers took every reply (64 MiB)";
  auto other = Connect();
  ASSERT_TRUE(other);
  auto r = Echo(*other, "served");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), "served");
  EXPECT_EQ(server_->stats().connections_closed_stalled.load(), 1u);
  EXPECT_EQ(server_->stats().calls.load(), ran + 1) << "a call was read past the bound";
  EXPECT_TRUE(WaitUntil([&] { return server_->calls_in_progress() == 0; }))
      << "the closed peer's replies kept their places";
  // The closed connection is gone, not parked in its read loop: only `other` is open.
  EXPECT_TRUE(WaitConnectionsOpen(1)) << server_->stats().connections_open.load() << " open";
}

TEST_F(ServerTest, ClientSendingHalfARecordThenDisconnectingLeavesTheServerServing) {
  auto other = Connect();
  ASSERT_TRUE(other);
  {
    RawConn raw(server_->port());
    ASSERT_TRUE(raw.connected());
    Bytes half = CallRecord(9, kTestProg, 1, kProcEcho, EchoArgs(std::string(200, 'x')));
    half.resize(half.size() / 2);
    ASSERT_TRUE(raw.Send(half));
    std::this_thread::sleep_for(50ms);
  }  // closed mid-record
  // Also a connection that closes after only two bytes of a record mark.
  {
    RawConn raw(server_->port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.Send({0x80, 0x00}));
  }
  EXPECT_TRUE(WaitConnectionsOpen(1)) << "connections left open: "
                                      << server_->stats().connections_open.load();
  auto r = Echo(*other, "other client");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), "other client");
  ExpectServerStillServes();
}

TEST_F(ServerTest, ClientDisconnectingWithCallsInFlightLeavesTheServerServing) {
  auto other = Connect();
  ASSERT_TRUE(other);
  {
    RawConn raw(server_->port());
    ASSERT_TRUE(raw.connected());
    Bytes calls;
    for (uint32_t xid = 1; xid <= 6; ++xid) {
      Bytes one = CallRecord(xid, kTestProg, 1, kProcSlow, SlowArgs(300, "abandoned"));
      calls.insert(calls.end(), one.begin(), one.end());
    }
    ASSERT_TRUE(raw.Send(calls));
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (server_->stats().calls.load() < 6 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
  }  // closed while all six are sleeping on the server
  // The procedures finish, their replies have nowhere to go, and the connection is freed.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (program_->slow_done() < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(program_->slow_done(), 6);
  EXPECT_TRUE(WaitConnectionsOpen(1)) << "connections left open: "
                                      << server_->stats().connections_open.load();
  auto r = Echo(*other, "other client");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), "other client");
  ExpectServerStillServes();
}

// A record mark announcing more than record_bytes_max: the server closes that connection (it
// cannot find the next record boundary) and keeps serving the others.
TEST_F(ServerTest, RecordOverTheBoundClosesOnlyThatConnection) {
  auto other = Connect();
  ASSERT_TRUE(other);
  auto bad = Connect();
  ASSERT_TRUE(bad);
  ASSERT_TRUE(bad->connected());
  uint32_t xid = bad->NextXid();
  Bytes rec;
  PutMark(rec, uint32_t(kRecordBytesMax + 1), true);
  Bytes head = CallRecord(xid, kTestProg, 1, kProcNull, {});
  rec.insert(rec.end(), head.begin() + kRecordMarkBytes, head.end());
  auto r = bad->CallRaw(xid, rec, kCallTimeout);
  EXPECT_FALSE(r.ok()) << "the server answered a call inside an oversized record";
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  }
  EXPECT_FALSE(bad->connected());
  EXPECT_EQ(server_->stats().records_oversized.load(), 1u);

  auto ok = Echo(*other, "unaffected");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(EchoResult(*ok), "unaffected");
  ExpectServerStillServes();
}

// The same with a plain socket: the server closes the connection promptly.
TEST_F(ServerTest, RecordOverTheBoundIsClosedPromptlyOnTheWire) {
  RawConn raw(server_->port());
  ASSERT_TRUE(raw.connected());
  Bytes mark;
  PutMark(mark, 0x7fffffffu, false);
  ASSERT_TRUE(raw.Send(mark));
  EXPECT_TRUE(raw.WaitClosed(5s)) << "the server kept a connection with an oversized record";
  ExpectServerStillServes();
}

// A record of exactly the bound is still served.
TEST_F(ServerTest, RecordOfExactlyTheBoundIsServed) {
  auto c = Connect();
  ASSERT_TRUE(c);
  uint32_t xid = c->NextXid();
  Bytes probe = CallRecord(xid, kTestProg, 1, kProcEcho, EchoArgs(""));
  size_t header = probe.size() - kRecordMarkBytes - 4;  // call header without the opaque
  std::string payload(kRecordBytesMax - header - 4, 'p');
  Bytes rec = CallRecord(xid, kTestProg, 1, kProcEcho, EchoArgs(payload));
  ASSERT_EQ(rec.size() - kRecordMarkBytes, kRecordBytesMax);
  auto r = c->CallRaw(xid, rec, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), payload);
}

// ---------------------------------------------------------------------------------------------
// Connections: the limit, and a process out of descriptors.

// Past connections_max a new connection is accepted and closed at once; the others are served,
// and once one closes a new one is served again.
TEST_F(ServerTest, AConnectionPastTheLimitIsClosedAndTheOthersServed) {
  ServerOptions options;
  options.connections_max = 2;
  RestartServer(options);
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitConnectionsOpen(2));
  RawConn third(server_->port());
  ASSERT_TRUE(third.connected());  // the kernel completes the handshake; the server closes it
  EXPECT_TRUE(third.WaitClosed(5s)) << "a connection past connections_max was kept";
  EXPECT_EQ(server_->stats().connections_refused_limit.load(), 1u);
  auto r = Echo(*a, "within the limit");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(EchoResult(*r), "within the limit");
  b.reset();
  ASSERT_TRUE(WaitConnectionsOpen(1));
  ExpectServerStillServes();
}

// A connection that sends nothing, or a record a few bytes at a time, is closed once
// first_record_timeout has passed since it was accepted, so such peers cannot hold
// connections_max; a client that made a call and then idles is kept.
TEST_F(ServerTest, AConnectionThatSendsNoWholeRecordIsClosedAndAnIdleClientIsKept) {
  ServerOptions options;
  options.first_record_timeout = 1s;
  RestartServer(options);
  auto client = Connect();
  ASSERT_TRUE(client);
  auto first = Echo(*client, "first");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  RawConn silent(server_->port());
  RawConn trickle(server_->port());
  ASSERT_TRUE(silent.connected() && trickle.connected());
  ASSERT_TRUE(trickle.Send({0x80, 0x00, 0x00}));  // three bytes of a record mark, then nothing
  EXPECT_TRUE(silent.WaitClosed(5s)) << "a connection that sent nothing was kept";
  EXPECT_TRUE(trickle.WaitClosed(5s)) << "a connection that sent part of a record was kept";
  EXPECT_EQ(server_->stats().connections_closed_silent.load(), 2u);
  // The client has been idle for longer than the timeout, and a check more: still served.
  std::this_thread::sleep_for(kSilentCheckInterval + 200ms);
  ASSERT_TRUE(client->connected());
  auto later = Echo(*client, "after idling");
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(EchoResult(*later), "after idling");
}

// A first record that has come but waits for room under the calls-in-progress bound counts
// as sent: its connection is not closed for silence, and is answered once there is room.
TEST_F(ServerTest, AFirstRecordHeldByTheBoundIsNotTakenForSilence) {
  ServerOptions options;
  options.first_record_timeout = 500ms;
  options.calls_in_progress_max = 1;
  RestartServer(options);
  RawConn slow(server_->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send(CallRecords(1, kProcSlow, SlowArgs(2500, "slow"))));
  ASSERT_TRUE(WaitUntil([&] { return server_->calls_in_progress() == 1; }));
  RawConn held(server_->port());
  ASSERT_TRUE(held.connected());
  ASSERT_TRUE(held.Send(CallRecord(7, kTestProg, 1, kProcNull, {})));
  auto reply = held.ReadRecord(10s);
  EXPECT_TRUE(reply) << "a connection whose first call waited for room was closed";
  EXPECT_EQ(server_->stats().connections_closed_silent.load(), 0u);
  EXPECT_TRUE(slow.ReadRecord(5s));
}

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n++;
  return n;
}

// The process has no descriptor left when a connection arrives: accept(2) fails with EMFILE
// and the connection stays in the listen backlog. The acceptor must wait kAcceptRetryDelay
// between tries, not try again at once (which spins a core and floods the log), and serve the
// connection once a descriptor is free.
TEST_F(ServerTest, AnAcceptOutOfDescriptorsWaitsBetweenTriesAndServesOnceOneIsFree) {
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  std::vector<int> fillers;
  auto release = [&] {
    for (int fd : fillers) ::close(fd);
    fillers.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved);
  };
  struct rlimit low = saved;
  low.rlim_cur = OpenDescriptors() + 16;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (;;) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fillers.push_back(fd);
  }
  const int fill_errno = errno;
  if (fill_errno != EMFILE || fillers.empty()) {
    release();
    FAIL() << "could not use up the descriptors: " << std::strerror(fill_errno);
  }
  // One descriptor for the client's socket; none is left for the server's accept.
  ::close(fillers.back());
  fillers.pop_back();
  RawConn raw(server_->port());
  const bool connected = raw.connected();
  const auto held = 1s;
  std::this_thread::sleep_for(held);
  const uint64_t failures = server_->stats().accept_failures.load();
  const uint64_t accepted = server_->stats().connections_accepted.load();
  release();

  ASSERT_TRUE(connected);
  EXPECT_EQ(accepted, 0u) << "the server accepted a connection with no descriptor free";
  EXPECT_GE(failures, 1u);
  // One try per kAcceptRetryDelay, and the first: a loop that tries again at once makes
  // hundreds of thousands in a second.
  EXPECT_LE(failures, uint64_t(held / kAcceptRetryDelay) + 2);
  Bytes call = CallRecord(0x5151, kTestProg, 1, kProcNull, {});
  ASSERT_TRUE(raw.Send(call));
  auto reply = raw.ReadRecord(5s);
  ASSERT_TRUE(reply) << "the connection was not served once descriptors were free";
  ExpectServerStillServes();
}

TEST(ConnectionsThatFitTest, WhatIsLeftBesideTheReservedDescriptorsUpToTheWanted) {
  EXPECT_EQ(ConnectionsThatFit(20000, 644, 4096), 4096u);
  EXPECT_EQ(ConnectionsThatFit(1024, 644, 4096), 380u);
  EXPECT_EQ(ConnectionsThatFit(1024, 644, 2), 2u);
  EXPECT_EQ(ConnectionsThatFit(644 + kConnectionsMin, 644, 4096), kConnectionsMin);
  EXPECT_EQ(ConnectionsThatFit(644 + kConnectionsMin - 1, 644, 4096), 0u);
  EXPECT_EQ(ConnectionsThatFit(100, 644, 4096), 0u);
}

// A client that cannot connect (nothing listens, or a bad address) is an error, and the half
// made client is destroyed cleanly.
// A peer that reads nothing for a while: calls from several threads fill both socket buffers,
// so the calling threads send what the socket takes and the client's I/O thread the rest. Then
// the peer reads every record and echoes its arguments: each reply must match its call, and
// no two records may have mixed their bytes on the way.
TEST(ClientTest, CallsLargerThanTheSocketBuffersArriveWholeAndInOrder) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  int small = 64 * 1024;
  ASSERT_EQ(::setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  constexpr int kThreads = 8;
  constexpr size_t kArgBytes = 1u << 20;  // 8 MiB in all: more than the socket buffers hold
  std::atomic<int> echoed{0};
  std::atomic<bool> bad_record{false};
  std::thread peer([&] {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    std::this_thread::sleep_for(300ms);  // the client fills the buffers meanwhile
    RecordParser parser(2 * kArgBytes);
    std::vector<uint8_t> chunk(256 * 1024), record;
    while (echoed < kThreads) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 15000) <= 0) break;  // nothing more comes: the test fails, not hangs
      ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
      if (n <= 0) break;
      if (!parser.Consume({chunk.data(), static_cast<size_t>(n)}).ok()) break;
      while (parser.Pop(record)) {
        CallHeader h;
        std::span<const uint8_t> args;
        if (ParseCall(record, h, args) != ParseOutcome::kOk) {
          bad_record = true;
          continue;
        }
        std::vector<uint8_t> reply(kRecordMarkBytes);
        AppendAcceptedReply(reply, h.xid, AcceptStat::kSuccess);
        reply.insert(reply.end(), args.begin(), args.end());
        WriteRecordMark(reply);
        for (size_t sent = 0; sent < reply.size();) {
          ssize_t w = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
          if (w <= 0) break;
          sent += static_cast<size_t>(w);
        }
        ++echoed;
      }
    }
    ::close(fd);
  });

  auto c = Client::Connect("127.0.0.1", ntohs(addr.sin_port));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::string> failures[kThreads];
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      std::vector<uint8_t> args(kArgBytes);
      for (size_t k = 0; k < args.size(); ++k) args[k] = static_cast<uint8_t>(t * 31 + k % 251);
      auto r = (*c)->Call(kTestProg, 1, kProcEcho, Credential{}, args, kCallTimeout);
      if (!r.ok()) {
        failures[t].push_back(r.status().ToString());
      } else if (!std::ranges::equal(r->results(), args)) {
        failures[t].push_back("the reply's bytes are not the call's");
      }
    });
  }
  for (auto& th : callers) th.join();
  peer.join();
  ::close(listener);
  for (int t = 0; t < kThreads; ++t) {
    for (auto& msg : failures[t]) ADD_FAILURE() << "thread " << t << ": " << msg;
  }
  EXPECT_FALSE(bad_record) << "a record reached the peer that is not a whole call";
  EXPECT_EQ(echoed.load(), kThreads);
}

TEST(ClientTest, ConnectFailuresAreErrorsNotCrashes) {
  // A port that was just bound and released: nothing listens on it, connect is refused.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  const uint16_t port = ntohs(addr.sin_port);
  auto refused = Client::Connect("127.0.0.1", port);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  auto bad = Client::Connect("not an address", port);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
}

// A name is resolved, and each of its addresses tried in turn: "localhost" may give ::1 first,
// which nothing listens on here, then 127.0.0.1.
TEST_F(ServerTest, ClientConnectsByNameTryingEachAddress) {
  auto c = Client::Connect("localhost", server_->port());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = (*c)->Call(kTestProg, 1, kProcNull, Credential{}, {}, kCallTimeout);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header.accept_stat, AcceptStat::kSuccess);
}

}  // namespace
}  // namespace manifold::rpc

namespace manifold::rpc {
namespace {

// Small allocations share blocks, large ones get their own; each is aligned for any type and
// none overlaps another (each is filled with its own byte and checked afterwards).
TEST(ArenaTest, AllocationsAreAlignedAndDoNotOverlap) {
  Arena arena;
  std::vector<std::pair<uint8_t*, size_t>> got;
  for (size_t i = 0; i < 2000; ++i) {
    size_t bytes = i % 97 == 0 ? 5000 + i : i % 41;  // zero, small and large
    auto* p = static_cast<uint8_t*>(arena.Alloc(bytes));
    ASSERT_NE(nullptr, p);
    EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t)) << i;
    std::memset(p, int(i & 0xff), bytes);
    got.emplace_back(p, bytes);
  }
  for (size_t i = 0; i < got.size(); ++i) {
    for (size_t k = 0; k < got[i].second; ++k) {
      ASSERT_EQ(uint8_t(i & 0xff), got[i].first[k]) << "allocation " << i << " byte " << k;
    }
  }
  char* s = arena.CopyString("name");
  EXPECT_STREQ("name", s);
}

}  // namespace
}  // namespace manifold::rpc
