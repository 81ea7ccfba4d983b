#include "rpc/client.h"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
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
  // Writes. The calling thread sends its record itself when nothing else is being written (one
  // send(2), no hand-off to the I/O thread); otherwise, or when the socket is full, records
  // queue and the I/O thread writes them one async_write at a time, so that no two writes
  // interleave their bytes on the socket.
  std::mutex write_mu;
  std::deque<std::vector<uint8_t>> writes;  // guarded by write_mu
  size_t front_sent = 0;                    // bytes of writes.front() already sent; write_mu
  bool writing = false;  // guarded by write_mu: a thread owns the socket's sending side

  // Queues a record for the socket; any thread.
  void Write(std::vector<uint8_t> record) {
    {
      std::lock_guard lock(write_mu);
      writes.push_back(std::move(record));
      if (writing) return;  // the owner writes it after its own
      writing = true;
    }
    SendQueued();
  }

  // The owner of the sending side writes what is queued without blocking; whatever the socket
  // does not take now goes to the I/O thread.
  void SendQueued() {
    std::unique_lock lock(write_mu);
    while (!writes.empty()) {
      const std::vector<uint8_t>& front = writes.front();
      lock.unlock();  // only the owner touches the front record and front_sent
      ssize_t n = ::send(socket.native_handle(), front.data() + front_sent,
                         front.size() - front_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      const int err = errno;
      lock.lock();
      if (n < 0 && err == EINTR) continue;
      if (n < 0 && err != EAGAIN && err != EWOULDBLOCK) {
        writes.clear();
        front_sent = 0;
        writing = false;
        lock.unlock();
        FailAll(std::string("write failed: ") + std::strerror(err));
        return;
      }
      if (n > 0) front_sent += static_cast<size_t>(n);
      if (front_sent < front.size()) {  // the socket is full: the I/O thread waits for room
        lock.unlock();
        asio::post(io, [self = shared_from_this()] { self->DoWrite(); });
        return;
      }
      writes.pop_front();
      front_sent = 0;
    }
    writing = false;
  }

  void DoWrite() {  // I/O thread, owning the sending side
    std::unique_lock lock(write_mu);
    if (writes.empty()) {
      writing = false;
      return;
    }
    const std::vector<uint8_t>& front = writes.front();
    auto rest = asio::buffer(front.data() + front_sent, front.size() - front_sent);
    lock.unlock();
    asio::async_write(socket, rest, WholeRecord,
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        std::unique_lock lock(self->write_mu);
                        self->front_sent = 0;
                        if (ec) {
                          self->writes.clear();
                          self->writing = false;
                          lock.unlock();
                          self->FailAll("write failed: " + ec.message());
                          return;
                        }
                        self->writes.pop_front();
                        lock.unlock();
                        self->SendQueued();
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
