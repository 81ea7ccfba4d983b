#include "rpc/connection.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>

#include "rpc/server.h"

namespace manifold::rpc {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// Bytes read per read_some when not reading straight into a large fragment.
constexpr size_t kReadChunkBytes = 64 * 1024;

size_t WireBytes(const Reply& r) { return r.head.size() + r.tail.size; }
}  // namespace

CallSlot::CallSlot(CallAdmission* admission) : admission_(admission) {
  if (admission_) admission_->Take();
}

CallSlot& CallSlot::operator=(CallSlot&& other) noexcept {
  if (this != &other) {
    Release();
    admission_ = std::exchange(other.admission_, nullptr);
  }
  return *this;
}

void CallSlot::Release() {
  if (admission_) std::exchange(admission_, nullptr)->Give();
}

void CallAdmission::Give() {
  // Only the call that takes the count below the bound wakes waiting readers, the first
  // kWakePerRelease of them; a woken reader that takes no place leaves it to WakeAll.
  if (in_progress_.fetch_sub(1, std::memory_order_relaxed) != max_) return;
  Wake(kWakePerRelease);
}

void CallAdmission::WakeAll() { Wake(SIZE_MAX); }

void CallAdmission::Wake(size_t most) {
  // Entries of readers that stopped waiting (their flag is down) or of connections gone are
  // dropped on the way, outside the count; they are released after the lock.
  std::vector<std::shared_ptr<Connection>> woken, dropped;
  {
    std::lock_guard lock(mu_);
    while (!waiting_.empty() && woken.size() < most) {
      std::shared_ptr<Connection> c = waiting_.front().lock();
      waiting_.pop_front();
      if (!c) continue;
      if (c->waiting_for_room_.exchange(false)) {
        woken.push_back(std::move(c));
      } else {
        dropped.push_back(std::move(c));
      }
    }
  }
  for (auto& c : woken) c->WakeReader();
}

void CallAdmission::WaitForRoom(const std::shared_ptr<Connection>& connection) {
  connection->waiting_for_room_.store(true);
  {
    std::lock_guard lock(mu_);
    waiting_.push_back(connection);
  }
  // A call that finished before the line above found nobody to wake.
  if (!Full()) connection->WakeReader();
}

Connection::Connection(tcp::socket socket, asio::thread_pool& workers,
                       std::shared_ptr<Dispatcher> dispatcher, const ServerOptions& options,
                       std::shared_ptr<ServerStats> stats,
                       std::shared_ptr<CallAdmission> admission)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      workers_(workers),
      dispatcher_(std::move(dispatcher)),
      inflight_max_(options.inflight_per_connection_max),
      queued_bytes_max_(options.queued_reply_bytes_per_connection_max),
      stats_(std::move(stats)),
      admission_(std::move(admission)),
      parser_(options.record_bytes_max),
      resume_(strand_) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(tcp::no_delay(true), ec);
  stats_->connections_open++;
}

Connection::~Connection() { stats_->connections_open--; }

void Connection::Start() {
  asio::co_spawn(strand_, [self = shared_from_this()] { return self->ReadLoop(); },
                 asio::detached);
}

void Connection::SetReplySink(std::function<void(std::vector<uint8_t>)> sink) {
  asio::post(strand_, [self = shared_from_this(), sink = std::move(sink)]() mutable {
    self->reply_sink_ = std::move(sink);
  });
}

void Connection::SetCloseHook(std::function<void()> hook) {
  asio::post(strand_, [self = shared_from_this(), hook = std::move(hook)]() mutable {
    if (self->closed_) {
      hook();
    } else {
      self->close_hook_ = std::move(hook);
    }
  });
}

asio::awaitable<void> Connection::ReadLoop() {
  std::vector<uint8_t> chunk(kReadChunkBytes);
  boost::system::error_code ec;
  while (!closed_) {
    size_t n = 0;
    if (parser_.body_remaining() >= kReadChunkBytes) {
      auto direct = parser_.DirectBuffer();
      n = co_await socket_.async_read_some(asio::buffer(direct.data(), direct.size()),
                                           asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      parser_.CommitDirect(n);
    } else {
      n = co_await socket_.async_read_some(asio::buffer(chunk),
                                           asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      Status s = parser_.Consume({chunk.data(), n});
      if (!s.ok()) {
        stats_->records_oversized++;
        spdlog::warn("rpc {}: {}; closing connection", peer_, s.message());
        break;
      }
    }
    // Back-pressure: records that arrived together are dispatched only while the
    // connection is under its in-flight and queued-reply bounds, and nothing more is read
    // until it is: a peer that sends calls without reading the replies stalls itself.
    std::vector<uint8_t> record;
    while (!closed_ && parser_.ready_count() > 0) {
      while (Saturated() && !closed_) {
        resume_.expires_at(asio::steady_timer::time_point::max());
        // Held by its own bounds: its own calls and writes wake it (they cancel resume_).
        // Else by the server's: the admission wakes it, at once if there is room by now.
        if (!OwnBoundsReached()) admission_->WaitForRoom(shared_from_this());
        stats_->reader_waits++;
        co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        waiting_for_room_.store(false);  // an entry left on the admission's list is skipped
      }
      if (closed_ || !parser_.Pop(record)) break;
      Dispatch(std::move(record));
    }
  }
  if (ec && ec != asio::error::eof && ec != asio::error::operation_aborted &&
      ec != asio::error::connection_reset) {
    spdlog::info("rpc {}: connection ended: {}", peer_, ec.message());
  }
  closed_ = true;
  socket_.close(ec);
  if (close_hook_) std::exchange(close_hook_, nullptr)();
}

void Connection::Dispatch(std::vector<uint8_t> record) {
  stats_->calls++;
  record_seen_.store(true, std::memory_order_relaxed);
  CallSlot slot(admission_.get());
  if (dispatcher_->RunsInline(record)) {  // on the strand already: answer right here
    stats_->calls_inline++;
    auto reply = dispatcher_->DispatchReply(record, peer_, shared_from_this(), /*on_io_thread=*/true);
    if (reply) {
      reply->slot = std::move(slot);
      Deliver(std::move(*reply));
    }
    return;
  }
  ++inflight_;
  asio::post(workers_, [self = shared_from_this(), record = std::move(record),
                        slot = std::move(slot)]() mutable {
    auto reply = self->dispatcher_->DispatchReply(record, self->peer_, self);
    if (reply) reply->slot = std::move(slot);
    asio::post(self->strand_, [self, record = std::move(record), reply = std::move(reply)]() mutable {
      --self->inflight_;
      self->resume_.cancel();
      if (reply) {
        self->Deliver(std::move(*reply));
      } else if (self->reply_sink_) {
        self->reply_sink_(std::move(record));  // an RPC reply on this connection: backchannel
      } else {
        self->stats_->calls_dropped++;
      }
    });
  });
}

bool Connection::OwnBoundsReached() const {
  return inflight_ >= inflight_max_ || queued_bytes_ >= queued_bytes_max_;
}

bool Connection::Saturated() const { return OwnBoundsReached() || admission_->Full(); }

void Connection::WakeReader() {
  asio::post(strand_, [self = shared_from_this()] { self->resume_.cancel(); });
}

void Connection::CloseIfStalled(std::chrono::milliseconds timeout) {
  asio::post(strand_, [self = shared_from_this(), timeout] {
    if (self->closed_ || self->writes_.empty()) return;
    if (std::chrono::steady_clock::now() - self->last_write_progress_ < timeout) return;
    self->stats_->connections_closed_stalled++;
    spdlog::warn("rpc {}: has taken no whole reply in {} ms ({} bytes queued) while calls in "
                 "progress are at their bound; closing",
                 self->peer_, timeout.count(), self->queued_bytes_);
    self->Abort();
  });
}

void Connection::CloseIfSilent(std::chrono::milliseconds timeout) {
  asio::post(strand_, [self = shared_from_this(), timeout] {
    if (self->closed_ || self->record_seen()) return;
    // A record already read but not yet dispatched (the bounds hold it) counts as sent.
    if (self->parser_.ready_count() > 0) return;
    if (std::chrono::steady_clock::now() - self->accepted_at_ < timeout) return;
    self->stats_->connections_closed_silent++;
    spdlog::debug("rpc {}: sent no whole record in {} ms; closing", self->peer_, timeout.count());
    self->Abort();
  });
}

void Connection::Queue(Reply reply) {
  if (closed_) return;
  if (writes_.empty()) last_write_progress_ = std::chrono::steady_clock::now();
  queued_bytes_ += WireBytes(reply);
  writes_.push_back(std::move(reply));
  DoWrite();
}

void Connection::Deliver(Reply reply) {
  ReplyGate* gate = std::exchange(reply.gate, nullptr);
  if (gate == nullptr || gate->IsDurable(reply.gate_mark)) return Queue(std::move(reply));
  // Held: it counts against the connection's in-flight bound until it goes.
  ++inflight_;
  stats_->replies_held++;
  auto held = std::make_shared<Reply>(std::move(reply));
  gate->WhenDurable(held->gate_mark, [self = shared_from_this(), held](bool durable) {
    asio::post(self->strand_, [self, held, durable] {
      --self->inflight_;
      self->resume_.cancel();
      if (!durable) {
        // Its changes may be lost: no reply; the client retries on a new connection.
        spdlog::error("rpc {}: a reply's changes could not be made durable; closing", self->peer_);
        return self->Abort();
      }
      self->Queue(std::move(*held));
    });
  });
}

void Connection::Send(std::vector<uint8_t> record) {
  asio::post(strand_, [self = shared_from_this(), record = std::move(record)]() mutable {
    Reply call;  // a call of the server's own (the backchannel): not under the bound
    call.head = std::move(record);
    self->Queue(std::move(call));
  });
}

void Connection::DoWrite() {
  if (writing_ || writes_.empty() || closed_) {
    if (closed_) DropQueued();
    return;
  }
  writing_ = true;
  const Reply& front = writes_.front();
  std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(front.head), asio::buffer(front.tail.bytes.get(), front.tail.size)};
  asio::async_write(socket_, buffers, WholeRecord,
                    asio::bind_executor(strand_, [self = shared_from_this()](
                                                     boost::system::error_code ec, size_t) {
                      self->writing_ = false;
                      self->queued_bytes_ -= WireBytes(self->writes_.front());
                      self->writes_.pop_front();
                      if (ec) return self->Abort();
                      self->last_write_progress_ = std::chrono::steady_clock::now();
                      self->resume_.cancel();  // a reader waiting for room checks again
                      self->DoWrite();
                    }));
}

void Connection::DropQueued() {
  // A write under way still owns the front reply's buffers until it completes.
  size_t keep = writing_ && !writes_.empty() ? 1 : 0;
  while (writes_.size() > keep) {
    queued_bytes_ -= WireBytes(writes_.back());
    writes_.pop_back();
  }
}

void Connection::Abort() {
  closed_ = true;
  resume_.cancel();  // a read loop waiting for room ends, and the connection with it
  DropQueued();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void Connection::Close() {
  asio::post(strand_, [self = shared_from_this()] {
    self->closed_ = true;
    self->resume_.cancel();
    boost::system::error_code ec;
    self->socket_.shutdown(tcp::socket::shutdown_both, ec);
    self->socket_.close(ec);
  });
}

}  // namespace manifold::rpc
