#include "rpc/client.h"

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "rpc/asio.h"
#include "rpc/record.h"

namespace manifold::rpc {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  explicit Impl(size_t record_bytes_max) : socket(io), parser(record_bytes_max) {}
  asio::io_context io;
  tcp::socket socket;
  RecordParser parser;
  std::thread thread;
  std::mutex mu;
  std::map<uint32_t, std::promise<Result<ClientReply>>> pending;  // guarded by mu
  bool dead = false;                                               // guarded by mu
  std::atomic<uint32_t> xid{0};
  CallHandler call_handler;  // guarded by mu
  // Whole records waiting to be written; one async_write at a time, or their bytes would
  // interleave on the socket. I/O thread only.
  std::deque<std::vector<uint8_t>> writes;
  bool writing = false;

  // Queues a record for the socket; any thread.
  void Write(std::vector<uint8_t> record) {
    asio::post(io, [self = shared_from_this(), record = std::move(record)]() mutable {
      self->writes.push_back(std::move(record));
      self->DoWrite();
    });
  }

  void DoWrite() {  // I/O thread
    if (writing || writes.empty()) return;
    writing = true;
    asio::async_write(socket, asio::buffer(writes.front()), WholeRecord,
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing = false;
                        self->writes.pop_front();
                        if (ec) {
                          self->writes.clear();
                          self->FailAll("write failed: " + ec.message());
                          return;
                        }
                        self->DoWrite();
                      });
  }

  void FailAll(const std::string& why) {
    std::lock_guard lock(mu);
    dead = true;
    for (auto& [xid, p] : pending) p.set_value(Status(Code::kUnavailable, why));
    pending.clear();
  }

  asio::awaitable<void> ReadLoop() {
    std::vector<uint8_t> chunk(64 * 1024);
    boost::system::error_code ec;
    for (;;) {
      size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (!parser.Consume({chunk.data(), n}).ok()) break;
      std::vector<uint8_t> record;
      while (parser.Pop(record)) Deliver(std::move(record));
    }
    FailAll(ec ? "connection lost: " + ec.message() : "reply exceeds record bound");
  }

  void Deliver(std::vector<uint8_t> record) {
    if (record.size() >= 8 && GetU32(record.data() + 4) == kMsgCall) {
      ServeCall(record);
      return;
    }
    ClientReply reply;
    std::span<const uint8_t> results;
    if (!ParseReply(record, reply.header, results)) return;  // not a reply: ignored
    reply.results_offset = record.size() - results.size();
    reply.record = std::move(record);
    std::lock_guard lock(mu);
    auto it = pending.find(reply.header.xid);
    if (it == pending.end()) return;  // late reply after a timeout
    it->second.set_value(std::move(reply));
    pending.erase(it);
  }

  // A call from the server (backchannel); runs on the I/O thread.
  void ServeCall(const std::vector<uint8_t>& record) {
    CallHandler handler;
    {
      std::lock_guard lock(mu);
      handler = call_handler;
    }
    if (!handler) return;
    auto reply = handler(record);
    if (reply) Write(std::move(*reply));
  }

  Result<ClientReply> Send(uint32_t xid, std::vector<uint8_t> bytes,
                           std::chrono::milliseconds timeout) {
    std::future<Result<ClientReply>> fut;
    {
      std::lock_guard lock(mu);
      if (dead) return Status(Code::kUnavailable, "connection closed");
      fut = pending[xid].get_future();
    }
    Write(std::move(bytes));
    if (fut.wait_for(timeout) != std::future_status::ready) {
      std::lock_guard lock(mu);
      pending.erase(xid);
      return Status(Code::kUnavailable, "RPC timed out");
    }
    return fut.get();
  }
};

Client::Client() = default;

Client::~Client() {
  if (!impl_) return;
  asio::post(impl_->io, [impl = impl_] {
    boost::system::error_code ec;
    impl->socket.shutdown(tcp::socket::shutdown_both, ec);
    impl->socket.close(ec);
  });
  // A failed Connect never started the thread.
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, uint16_t port,
                                                size_t record_bytes_max) {
  std::unique_ptr<Client> client(new Client());
  client->impl_ = std::make_shared<Impl>(record_bytes_max);
  auto& impl = *client->impl_;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status(Code::kInvalid, "bad address '" + host + "'");
  impl.socket.connect(tcp::endpoint(address, port), ec);
  if (ec) {
    return Status(Code::kUnavailable,
                  "connect " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  impl.socket.set_option(tcp::no_delay(true), ec);
  impl.xid = uint32_t(std::chrono::steady_clock::now().time_since_epoch().count());
  asio::co_spawn(impl.io, [p = client->impl_] { return p->ReadLoop(); }, asio::detached);
  client->impl_->thread = std::thread([p = client->impl_] { p->io.run(); });
  return client;
}

uint32_t Client::NextXid() { return ++impl_->xid; }

void Client::SetCallHandler(CallHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->call_handler = std::move(handler);
}

bool Client::connected() const {
  std::lock_guard lock(impl_->mu);
  return !impl_->dead;
}

Result<ClientReply> Client::Call(uint32_t prog, uint32_t vers, uint32_t proc,
                                 const Credential& cred, std::span<const uint8_t> args,
                                 std::chrono::milliseconds timeout) {
  uint32_t xid = NextXid();
  std::vector<uint8_t> bytes(kRecordMarkBytes);
  AppendCall(bytes, xid, prog, vers, proc, cred);
  bytes.insert(bytes.end(), args.begin(), args.end());
  WriteRecordMark(bytes);
  return impl_->Send(xid, std::move(bytes), timeout);
}

Result<ClientReply> Client::CallRaw(uint32_t xid, std::vector<uint8_t> bytes,
                                    std::chrono::milliseconds timeout) {
  return impl_->Send(xid, std::move(bytes), timeout);
}

Result<AcceptStat> Client::CallXdr(uint32_t prog, uint32_t vers, uint32_t proc,
                                   const Credential& cred, xdrproc_t xargs, void* args,
                                   xdrproc_t xres, void* res) {
  std::vector<uint8_t> encoded;
  if (!XdrEncode(encoded, xargs, args)) return Status(Code::kInvalid, "cannot encode args");
  auto reply = Call(prog, vers, proc, cred, encoded);
  if (!reply.ok()) return reply.status();
  const ReplyHeader& h = reply->header;
  if (!h.accepted) {
    return Status(Code::kPermission, h.reject_stat == 0
                                         ? "RPC_MISMATCH"
                                         : "AUTH_ERROR " + std::to_string(h.auth_stat));
  }
  if (h.accept_stat != AcceptStat::kSuccess) return h.accept_stat;
  if (!XdrDecode(reply->results(), xres, res)) {
    return Status(Code::kCorruption, "cannot decode results");
  }
  return AcceptStat::kSuccess;
}

Credential AuthSysCred(uint32_t uid, uint32_t gid, std::vector<uint32_t> gids,
                       std::string machine) {
  Credential c;
  c.flavor = AuthFlavor::kSys;
  c.sys.uid = uid;
  c.sys.gid = gid;
  c.sys.gids = std::move(gids);
  c.sys.machinename = std::move(machine);
  return c;
}

}  // namespace manifold::rpc
