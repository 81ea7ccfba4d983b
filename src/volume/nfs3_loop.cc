#include "volume/nfs3_loop.h"

#include <nfsc/libnfs-raw.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/check.h"

// Why not libnfs's own timeouts and reconnection (libnfs 4.0):
//  - rpc_set_timeout() is exported but not declared in the installed headers, and its
//    timeout scan drops a pdu from the send queue even when half of it is already on the
//    wire (the next record then starts mid-stream), and does not decrement the count that
//    rpc_queue_length() reports.
//  - Auto-reconnect re-sends every call in flight on the new connection, which hides the
//    outage from the caller and replays non-idempotent calls (CREATE, REMOVE) silently. The
//    MDS wants to hear "unavailable" and decide itself. rpc_connect_async() turns it off.
// So deadlines live here, and a call in flight that misses its deadline resets the connection:
// libnfs cannot withdraw one call from a connection, and a server that does not answer one
// call within the timeout is not answering.

namespace manifold::volume::internal {
namespace {

// The longest the loop sleeps without a deadline to watch: only a backstop.
constexpr int kPollIntervalMaxMs = 1000;
// AUTH_SYS machinename of every call.
constexpr char kAuthMachineName[] = "manifold";

int64_t MillisUntil(Clock::time_point now, Clock::time_point t) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
  return std::max<int64_t>(ms, 0);
}

}  // namespace

Result<std::unique_ptr<Nfs3Loop>> Nfs3Loop::Start(LoopOptions options) {
  if (options.inflight_max == 0 || options.queue_max == 0)
    return Status(Code::kInvalid, "inflight_max and queue_max must be at least 1");
  std::unique_ptr<Nfs3Loop> loop(new Nfs3Loop(std::move(options)));
  loop->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  loop->thread_ = std::thread([l = loop.get()] { l->Run(); });
  return loop;
}

Nfs3Loop::~Nfs3Loop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  stopping_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

void Nfs3Loop::Submit(std::unique_ptr<Call> call) {
  call->deadline = Clock::now() + options_.request_timeout;
  Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      refused = Status(Code::kUnavailable, "volume " + endpoint() + " is closed");
    } else if (queue_.size() >= options_.queue_max) {
      refused = Status(Code::kUnavailable, "volume " + endpoint() + ": request queue full (" +
                                               std::to_string(options_.queue_max) + ")");
    } else {
      queue_.push_back(std::move(call));
      counters_.queued.store(queue_.size(), std::memory_order_relaxed);
    }
  }
  if (!refused.ok()) {
    counters_.requests_refused.fetch_add(1, std::memory_order_relaxed);
    counters_.requests_failed_unavailable.fetch_add(1, std::memory_order_relaxed);
    call->finish(refused, nullptr);
    return;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

Nfs3VolumeStats Nfs3Loop::stats() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  Nfs3VolumeStats s;
  s.requests_started = get(counters_.requests_started);
  s.requests_refused = get(counters_.requests_refused);
  s.requests_timed_out = get(counters_.requests_timed_out);
  s.requests_failed_unavailable = get(counters_.requests_failed_unavailable);
  s.connects = get(counters_.connects);
  s.connect_failures = get(counters_.connect_failures);
  s.inflight = get(counters_.inflight);
  s.queued = get(counters_.queued);
  return s;
}

void Nfs3Loop::Run() {
  while (!stopping_.load()) RunOnce();
  Disconnect("volume " + endpoint() + " is closed");
  FailQueued(Status(Code::kUnavailable, "volume " + endpoint() + " is closed"));
}

void Nfs3Loop::RunOnce() {
  Clock::time_point now = Clock::now();
  ExpireDeadlines(now);
  StartQueued();
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, 0, 0}};
  if (rpc_ != nullptr) {
    fds[1].fd = rpc_get_fd(rpc_);
    fds[1].events = static_cast<short>(rpc_which_events(rpc_));
  }
  int n = ::poll(fds, 2, PollTimeoutMs(now));
  if (n < 0) {
    MANIFOLD_CHECK(errno == EINTR || errno == ENOMEM);
    return;
  }
  if (fds[0].revents & POLLIN) {
    uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof(count));
  }
  if (rpc_ != nullptr && fds[1].revents != 0) Service(fds[1].revents);
}

// The earliest deadline decides how long poll() may sleep.
int Nfs3Loop::PollTimeoutMs(Clock::time_point now) {
  int64_t ms = kPollIntervalMaxMs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // With one timeout for every call, the queue is in deadline order.
    if (!queue_.empty()) {
      // A queued call can start only when a slot or the connection frees up; both wake us.
      bool can_start_now = conn_ == Conn::kUp && inflight_.size() < options_.inflight_max;
      if (can_start_now) return 0;
      ms = std::min(ms, MillisUntil(now, queue_.front()->deadline));
    }
  }
  if (!inflight_.empty())
    ms = std::min(ms, MillisUntil(now, inflight_.begin()->second->call->deadline));
  if (conn_ == Conn::kConnecting) ms = std::min(ms, MillisUntil(now, connect_deadline_));
  return static_cast<int>(ms);
}

void Nfs3Loop::ExpireDeadlines(Clock::time_point now) {
  std::vector<std::unique_ptr<Call>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!queue_.empty() && queue_.front()->deadline <= now) {
      expired.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    counters_.queued.store(queue_.size(), std::memory_order_relaxed);
  }
  auto timeout_ms = std::to_string(options_.request_timeout.count());
  for (auto& call : expired) {
    counters_.requests_timed_out.fetch_add(1, std::memory_order_relaxed);
    std::string why = conn_ == Conn::kUp ? "waiting for a free slot" : "waiting for a connection";
    Finish(std::move(call),
           Status(Code::kUnavailable,
                  "volume " + endpoint() + ": timed out after " + timeout_ms + " ms " + why),
           nullptr);
  }
  if (!inflight_.empty() && inflight_.begin()->second->call->deadline <= now) {
    counters_.requests_timed_out.fetch_add(1, std::memory_order_relaxed);
    const char* proc = inflight_.begin()->second->call->proc_name;
    Disconnect(std::string("volume ") + endpoint() + ": " + proc + " got no reply within " +
               timeout_ms + " ms; connection reset");
  }
  if (conn_ == Conn::kConnecting && connect_deadline_ <= now) {
    std::string reason = "volume " + endpoint() + ": connect timed out after " +
                         std::to_string(options_.connect_timeout.count()) + " ms";
    counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    Disconnect(reason);
    FailQueued(Status(Code::kUnavailable, reason));
  }
}

// Starts queued calls while the connection is up and slots are free; connects on demand.
void Nfs3Loop::StartQueued() {
  while (!stopping_.load()) {
    std::unique_ptr<Call> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
      if (conn_ != Conn::kUp || inflight_.size() >= options_.inflight_max) {
        if (conn_ != Conn::kDown) return;
      } else {
        call = std::move(queue_.front());
        queue_.pop_front();
        counters_.queued.store(queue_.size(), std::memory_order_relaxed);
      }
    }
    if (call == nullptr) {
      Connect();
      if (conn_ != Conn::kUp) return;
      continue;
    }
    StartCall(std::move(call));
  }
}

void Nfs3Loop::StartCall(std::unique_ptr<Call> call) {
  uint64_t id = next_id_++;
  auto f = std::make_unique<InFlight>(InFlight{this, id, std::move(call)});
  InFlight* raw = f.get();
  inflight_.emplace(id, std::move(f));
  counters_.inflight.store(inflight_.size(), std::memory_order_relaxed);
  counters_.requests_started.fetch_add(1, std::memory_order_relaxed);
  if (raw->call->start(rpc_, &Nfs3Loop::OnReply, raw) == 0) return;
  // libnfs did not take the call (it could not encode or queue it) and will not call back.
  std::string err = rpc_get_error(rpc_) ? rpc_get_error(rpc_) : "unknown error";
  auto node = inflight_.extract(id);
  counters_.inflight.store(inflight_.size(), std::memory_order_relaxed);
  Finish(std::move(node.mapped()->call),
         Status(Code::kIo, std::string("volume ") + endpoint() + ": cannot send " +
                               raw->call->proc_name + ": " + err),
         nullptr);
}

void Nfs3Loop::Connect() {
  MANIFOLD_CHECK(rpc_ == nullptr && conn_ == Conn::kDown);
  rpc_ = rpc_init_context();
  MANIFOLD_CHECK(rpc_ != nullptr);  // only fails when malloc does
  rpc_set_auth(rpc_,
               libnfs_authunix_create(kAuthMachineName, options_.uid, options_.gid, 0, nullptr));
  conn_ = Conn::kConnecting;
  connect_deadline_ = Clock::now() + options_.connect_timeout;
  if (rpc_connect_async(rpc_, options_.host.c_str(), options_.port, &Nfs3Loop::OnConnect, this) !=
      0) {
    std::string reason = "volume " + endpoint() + ": cannot connect: " + rpc_get_error(rpc_);
    counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    Disconnect(reason);
    FailQueued(Status(Code::kUnavailable, reason));
  }
}

void Nfs3Loop::OnConnect(rpc_context* rpc, int rpc_status, void* data, void* private_data) {
  auto* loop = static_cast<Nfs3Loop*>(private_data);
  if (rpc_status != RPC_STATUS_SUCCESS) return;  // rpc_service() returns -1 next: Service()
  loop->conn_ = Conn::kUp;
  loop->counters_.connects.fetch_add(1, std::memory_order_relaxed);
  if (loop->reported_down_)
    spdlog::info("volume {}: connected again", loop->endpoint());
  else
    spdlog::debug("volume {}: connected", loop->endpoint());
  loop->reported_down_ = false;
}

// The reason a non-blocking connect failed ("Connection refused"), read before libnfs
// reads it (libnfs 4.0 reports a refused connect as "Socket failed with POLLHUP").
static std::string PendingSocketError(int fd, int revents) {
  if (!(revents & (POLLERR | POLLHUP))) return "";
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) return "";
  return std::strerror(err);
}

void Nfs3Loop::Service(int revents) {
  bool was_connecting = conn_ == Conn::kConnecting;
  std::string socket_error = was_connecting ? PendingSocketError(rpc_get_fd(rpc_), revents) : "";
  if (rpc_service(rpc_, revents) == 0) {
    FinishErrored(false, "");
    return;
  }
  const char* err = rpc_get_error(rpc_);
  std::string reason = "volume " + endpoint() +
                       (was_connecting ? ": cannot connect: " : ": connection lost: ") +
                       (!socket_error.empty() ? socket_error
                        : err                 ? err
                                              : "unknown error");
  FinishErrored(true, reason);
  Disconnect(reason);
  if (was_connecting) {
    counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    FailQueued(Status(Code::kUnavailable, reason));
  }
}

// rpc_service() returned: its RPC_STATUS_ERROR callbacks were a failed connection (it
// returned -1: unavailable) or the server rejecting single calls (PROG_UNAVAIL,
// GARBAGE_ARGS, a denied credential, an undecodable reply: an I/O error).
void Nfs3Loop::FinishErrored(bool connection_lost, const std::string& reason) {
  std::vector<std::pair<uint64_t, std::string>> errored;
  errored.swap(errored_);
  for (auto& [id, message] : errored) {
    auto node = inflight_.extract(id);
    MANIFOLD_CHECK(!node.empty());
    counters_.inflight.store(inflight_.size(), std::memory_order_relaxed);
    std::unique_ptr<Call> call = std::move(node.mapped()->call);
    Status status = connection_lost
                        ? Status(Code::kUnavailable, reason)
                        : Status(Code::kIo, "volume " + endpoint() + ": " + call->proc_name +
                                                " failed: " + message);
    Finish(std::move(call), status, nullptr);
  }
}

void Nfs3Loop::Disconnect(const std::string& reason) {
  if (rpc_ == nullptr) return;
  // Log by blame: the server's outage is worth one warning, not one per request during it.
  if (!stopping_.load()) {
    if (!reported_down_)
      spdlog::warn("{}", reason);
    else
      spdlog::debug("{}", reason);
    reported_down_ = true;
  }
  down_reason_ = reason;
  rpc_context* rpc = rpc_;
  conn_ = Conn::kDown;
  // Every call still in libnfs comes back through OnReply with RPC_STATUS_CANCEL.
  rpc_destroy_context(rpc);
  rpc_ = nullptr;
  MANIFOLD_CHECK(inflight_.empty());
  MANIFOLD_CHECK(errored_.empty());
}

void Nfs3Loop::FailQueued(const Status& status) {
  std::deque<std::unique_ptr<Call>> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed.swap(queue_);
    counters_.queued.store(0, std::memory_order_relaxed);
  }
  for (auto& call : failed) Finish(std::move(call), status, nullptr);
}

void Nfs3Loop::OnReply(rpc_context* rpc, int rpc_status, void* data, void* private_data) {
  auto* f = static_cast<InFlight*>(private_data);
  f->loop->HandleReply(f, rpc_status, data);
}

void Nfs3Loop::HandleReply(InFlight* f, int rpc_status, void* data) {
  if (rpc_status == RPC_STATUS_ERROR) {
    errored_.emplace_back(f->id, data ? static_cast<const char*>(data) : "RPC error");
    return;
  }
  auto node = inflight_.extract(f->id);
  MANIFOLD_CHECK(!node.empty());
  counters_.inflight.store(inflight_.size(), std::memory_order_relaxed);
  std::unique_ptr<Call> call = std::move(node.mapped()->call);
  if (rpc_status == RPC_STATUS_SUCCESS) {
    Finish(std::move(call), Status::Ok(), data);
  } else {  // CANCEL (Disconnect) or TIMEOUT (libnfs timeouts are off: not expected)
    std::string reason = rpc_status == RPC_STATUS_CANCEL && !down_reason_.empty()
                             ? down_reason_
                             : "volume " + endpoint() + ": " + call->proc_name + " cancelled";
    Finish(std::move(call), Status(Code::kUnavailable, reason), nullptr);
  }
}

void Nfs3Loop::Finish(std::unique_ptr<Call> call, const Status& status, void* reply) {
  if (status.code() == Code::kUnavailable)
    counters_.requests_failed_unavailable.fetch_add(1, std::memory_order_relaxed);
  call->finish(status, reply);
}

}  // namespace manifold::volume::internal
