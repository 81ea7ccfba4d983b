// The client's threads share one socket without a dedicated I/O thread on the call path:
//
// - Sending: the calling thread sends its record itself (one non-blocking send) when nobody
//   else is sending; records that arrive meanwhile queue behind it and the sender sends them
//   too. What a full socket does not take goes to the helper thread, which waits for room
//   (poll) and sends the rest, so no thread ever blocks on a send while holding anything.
// - Receiving: one thread at a time is the reader. A caller waiting for its reply becomes the
//   reader when nobody is, reads records and hands each reply to its caller (and serves calls
//   from the server) until its own arrives, then gives the role up. So a lone caller sends,
//   sleeps in poll until its reply comes and wakes with it: no hand-off between threads.
// - Idle: when no call has been made for a while, the helper thread takes the reader role, so
//   that calls from the server (the NFSv4.1 backchannel) are answered while the client makes
//   none. It looks every kIdleCheck and takes the role only when no call started since it last
//   looked; it gives the role back once it has delivered a reply.
#include "rpc/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "rpc/record.h"

namespace manifold::rpc {

namespace {

// How often the helper thread looks whether the client is idle (no call waiting, nobody
// reading) and so should read for calls from the server. It is woken earlier only to stop or
// to finish a send; a backchannel call that arrives while the client goes idle is answered
// within this time.
constexpr auto kIdleCheck = std::chrono::milliseconds(5);
// Bytes read from the socket at once.
constexpr size_t kReadChunkBytes = 64 * 1024;

int PollMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  // Rounded up: a poll that returns a little early would spin.
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count() + 1, 60000));
}

}  // namespace

struct Client::Impl {
  explicit Impl(size_t record_bytes_max) : parser(record_bytes_max) {}
  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
    if (fd >= 0) ::close(fd);
  }

  int fd = -1;
  int wake_fd = -1;  // eventfd: wakes the helper from poll (stop, or a send to finish)
  std::thread helper;

  // ---- calls and the reader role (guarded by mu) ----
  struct Slot {
    std::optional<Result<ClientReply>> result;
  };
  std::mutex mu;
  std::condition_variable replies;  // a reply was handed over, or the reader role is free
  std::condition_variable idle_cv;  // the helper's wait; notified only to stop or to send
  std::map<uint32_t, Slot*> pending;
  uint64_t calls_started = 0;   // the helper's measure of idleness
  bool reading = false;         // a thread is the reader
  bool dead = false;
  bool stop = false;
  bool send_handoff = false;  // the helper owns the sending side and has bytes to send
  std::atomic<uint32_t> xid{0};
  CallHandler call_handler;
  RecordParser parser;  // the reader's alone

  // ---- sending (guarded by write_mu) ----
  std::mutex write_mu;
  std::deque<std::vector<uint8_t>> writes;
  size_t front_sent = 0;  // bytes of writes.front() already sent
  bool writing = false;   // a thread owns the sending side

  void Wake() {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;  // an eventfd only fails to count when it is full, and then it is readable anyway
  }

  // Queues a record; any thread.
  void Write(std::vector<uint8_t> record) {
    {
      std::lock_guard lock(write_mu);
      writes.push_back(std::move(record));
      if (writing) return;  // the owner sends it after its own
      writing = true;
    }
    SendQueued();
  }

  // The owner of the sending side sends what is queued without blocking. Returns with the side
  // given up, or handed to the helper (send_handoff) when the socket is full.
  void SendQueued() {
    std::unique_lock lock(write_mu);
    while (!writes.empty()) {
      const std::vector<uint8_t>& front = writes.front();  // only the owner pops it
      lock.unlock();
      ssize_t n = ::send(fd, front.data() + front_sent, front.size() - front_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
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
      if (front_sent < front.size()) {  // full: the helper waits for room and goes on
        lock.unlock();
        {
          std::lock_guard l(mu);
          send_handoff = true;
        }
        idle_cv.notify_one();
        Wake();
        return;
      }
      writes.pop_front();
      front_sent = 0;
    }
    writing = false;
  }

  void FailAll(const std::string& why) {
    std::lock_guard lock(mu);
    dead = true;
    for (auto& [x, slot] : pending) slot->result = Status(Code::kUnavailable, why);
    pending.clear();
    replies.notify_all();
  }

  // The reader: one read from the socket, every whole record delivered. false when the
  // connection is lost (everyone waiting has been failed).
  bool ReadOnce() {
    uint8_t chunk[kReadChunkBytes];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {
      FailAll(n == 0 ? "connection lost: closed by the server"
                     : std::string("connection lost: ") + std::strerror(errno));
      return false;
    }
    if (!parser.Consume({chunk, static_cast<size_t>(n)}).ok()) {
      FailAll("reply exceeds record bound");
      return false;
    }
    std::vector<uint8_t> record;
    while (parser.Pop(record)) Deliver(std::move(record));
    return true;
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
    it->second->result = std::move(reply);
    pending.erase(it);
    replies.notify_all();
  }

  // A call from the server (backchannel), served by whoever is the reader.
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

  Result<ClientReply> Send(uint32_t call_xid, std::vector<uint8_t> bytes,
                           std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Slot slot;
    {
      std::lock_guard lock(mu);
      if (dead) return Status(Code::kUnavailable, "connection closed");
      pending[call_xid] = &slot;
      calls_started++;
    }
    Write(std::move(bytes));
    std::unique_lock lock(mu);
    for (;;) {
      if (slot.result) return std::move(*slot.result);  // Deliver or FailAll took it out
      if (!reading) {
        reading = true;
        lock.unlock();
        bool timed_out = false;
        for (;;) {
          pollfd p{fd, POLLIN, 0};
          int rc = ::poll(&p, 1, PollMs(deadline));
          if (rc < 0 && errno == EINTR) continue;
          if (rc == 0) {
            timed_out = true;
            break;
          }
          if (!ReadOnce()) break;
          std::lock_guard l(mu);
          if (slot.result) break;
        }
        lock.lock();
        reading = false;
        replies.notify_all();  // another caller may take the role
        if (timed_out && !slot.result) break;
        continue;
      }
      if (replies.wait_until(lock, deadline) == std::cv_status::timeout && !slot.result) break;
    }
    pending.erase(call_xid);
    return Status(Code::kUnavailable, "RPC timed out");
  }

  // The helper thread: sends what a full socket did not take, and reads while the client is
  // idle.
  void HelperLoop() {
    std::unique_lock lock(mu);
    uint64_t calls_seen = calls_started;
    while (!stop) {
      // Idle: nobody reads, no call waits, and none started since the last look (a client
      // between two calls is not idle: its next caller reads for itself).
      const bool read = !reading && pending.empty() && !dead && calls_started == calls_seen;
      calls_seen = calls_started;
      const bool send = send_handoff;
      if (!send && !read) {
        idle_cv.wait_for(lock, kIdleCheck);
        continue;
      }
      if (read) reading = true;
      lock.unlock();
      pollfd p[2] = {{fd, static_cast<short>((read ? POLLIN : 0) | (send ? POLLOUT : 0)), 0},
                     {wake_fd, POLLIN, 0}};
      int rc = ::poll(p, 2, read ? -1 : static_cast<int>(kIdleCheck.count()));
      if (rc > 0 && (p[1].revents & POLLIN)) {
        uint64_t count;
        ssize_t n = ::read(wake_fd, &count, sizeof count);
        (void)n;  // drained; what woke us is looked at below
      }
      if (rc > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP)) && read) ReadOnce();
      if (rc > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) && send) {
        {
          std::lock_guard l(mu);
          send_handoff = false;
        }
        SendQueued();  // may hand the rest back to this thread
      }
      lock.lock();
      if (read) {
        reading = false;
        replies.notify_all();
      }
    }
  }
};

Client::Client() = default;

Client::~Client() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->idle_cv.notify_all();
  if (impl_->wake_fd >= 0) impl_->Wake();
  if (impl_->fd >= 0) ::shutdown(impl_->fd, SHUT_RDWR);
  if (impl_->helper.joinable()) impl_->helper.join();
}

Result<int> ConnectTcp(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int e = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); e != 0) {
    return Status(Code::kInvalid, "bad address '" + host + "': " + ::gai_strerror(e));
  }
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int rc;
    do {
      rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return Status(Code::kUnavailable, "connect " + host + ":" + std::to_string(port) + ": " + why);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
  return fd;
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, uint16_t port,
                                                size_t record_bytes_max) {
  std::unique_ptr<Client> client(new Client());
  client->impl_ = std::make_shared<Impl>(record_bytes_max);
  Impl& impl = *client->impl_;
  auto fd = ConnectTcp(host, port);
  if (!fd.ok()) return fd.status();
  impl.fd = *fd;
  impl.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl.wake_fd < 0) {
    return Status(Code::kUnavailable, std::string("eventfd: ") + std::strerror(errno));
  }
  impl.xid = uint32_t(std::chrono::steady_clock::now().time_since_epoch().count());
  impl.helper = std::thread([p = client->impl_] { p->HelperLoop(); });
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
