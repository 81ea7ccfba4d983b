#include "nfs4client/transport.h"

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "rpc/asio.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"

namespace manifold::nfs4client {

namespace asio = boost::asio;
using asio::ip::tcp;
using Buffer = std::shared_ptr<std::vector<uint8_t>>;

// As rpc::Client::Impl (src/rpc/client.cc), except that every outgoing record goes through
// `writes`, so at most one async_write is in flight on the socket.
struct Transport::Impl : std::enable_shared_from_this<Transport::Impl> {
  explicit Impl(size_t record_bytes_max) : socket(io), parser(record_bytes_max) {}
  asio::io_context io;
  tcp::socket socket;
  rpc::RecordParser parser;
  std::thread thread;
  std::deque<Buffer> writes;  // I/O thread only
  bool writing = false;       // I/O thread only
  mutable std::mutex mu;
  std::map<uint32_t, std::promise<Result<rpc::ClientReply>>> pending;  // guarded by mu
  bool dead = false;                                                   // guarded by mu
  rpc::Client::CallHandler call_handler;                               // guarded by mu
  std::atomic<uint32_t> xid{0};

  void FailAll(const std::string& why) {
    std::lock_guard lock(mu);
    dead = true;
    for (auto& [x, p] : pending) p.set_value(Status(Code::kUnavailable, why));
    pending.clear();
  }

  // I/O thread only.
  void Enqueue(Buffer buf) {
    writes.push_back(std::move(buf));
    if (!writing) WriteNext();
  }

  void WriteNext() {
    if (writes.empty()) {
      writing = false;
      return;
    }
    writing = true;
    Buffer buf = writes.front();
    asio::async_write(socket, asio::buffer(*buf),
                      [self = shared_from_this(), buf](boost::system::error_code ec, size_t) {
                        self->writes.pop_front();
                        if (ec) {
                          self->writes.clear();
                          self->writing = false;
                          self->FailAll("write failed: " + ec.message());
                          return;
                        }
                        self->WriteNext();
                      });
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
    if (record.size() >= 8 && rpc::GetU32(record.data() + 4) == rpc::kMsgCall) {
      return ServeCall(record);
    }
    rpc::ClientReply reply;
    std::span<const uint8_t> results;
    if (!rpc::ParseReply(record, reply.header, results)) return;  // not a reply: ignored
    reply.results_offset = record.size() - results.size();
    reply.record = std::move(record);
    std::lock_guard lock(mu);
    auto it = pending.find(reply.header.xid);
    if (it == pending.end()) return;  // late reply after a timeout
    it->second.set_value(std::move(reply));
    pending.erase(it);
  }

  void ServeCall(const std::vector<uint8_t>& record) {
    rpc::Client::CallHandler handler;
    {
      std::lock_guard lock(mu);
      handler = call_handler;
    }
    if (!handler) return;
    if (auto reply = handler(record)) Enqueue(std::make_shared<std::vector<uint8_t>>(*reply));
  }

  Result<rpc::ClientReply> Send(uint32_t call_xid, std::vector<uint8_t> bytes,
                                std::chrono::milliseconds timeout) {
    std::future<Result<rpc::ClientReply>> fut;
    {
      std::lock_guard lock(mu);
      if (dead) return Status(Code::kUnavailable, "connection closed");
      fut = pending[call_xid].get_future();
    }
    auto buf = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    asio::post(io, [self = shared_from_this(), buf] { self->Enqueue(buf); });
    if (fut.wait_for(timeout) != std::future_status::ready) {
      std::lock_guard lock(mu);
      pending.erase(call_xid);
      return Status(Code::kUnavailable, "RPC timed out");
    }
    return fut.get();
  }
};

Transport::~Transport() {
  if (!impl_) return;
  asio::post(impl_->io, [impl = impl_] {
    boost::system::error_code ec;
    impl->socket.shutdown(tcp::socket::shutdown_both, ec);
    impl->socket.close(ec);
  });
  impl_->thread.join();
}

Result<std::unique_ptr<Transport>> Transport::Connect(const std::string& host, uint16_t port,
                                                      size_t record_bytes_max) {
  std::unique_ptr<Transport> t(new Transport());
  t->impl_ = std::make_shared<Impl>(record_bytes_max);
  Impl& impl = *t->impl_;
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
  asio::co_spawn(
      impl.io, [p = t->impl_] { return p->ReadLoop(); }, asio::detached);
  impl.thread = std::thread([p = t->impl_] { p->io.run(); });
  return t;
}

Result<rpc::ClientReply> Transport::Call(uint32_t prog, uint32_t vers, uint32_t proc,
                                         const rpc::Credential& cred, std::span<const uint8_t> args,
                                         std::chrono::milliseconds timeout) {
  uint32_t call_xid = ++impl_->xid;
  std::vector<uint8_t> bytes(rpc::kRecordMarkBytes);
  rpc::AppendCall(bytes, call_xid, prog, vers, proc, cred);
  bytes.insert(bytes.end(), args.begin(), args.end());
  rpc::WriteRecordMark(bytes);
  return impl_->Send(call_xid, std::move(bytes), timeout);
}

void Transport::SetCallHandler(rpc::Client::CallHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->call_handler = std::move(handler);
}

bool Transport::connected() const {
  std::lock_guard lock(impl_->mu);
  return !impl_->dead;
}

}  // namespace manifold::nfs4client
