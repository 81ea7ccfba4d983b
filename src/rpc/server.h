// ONC RPC server over TCP on Boost.Asio. One I/O context reads and writes; a worker pool runs
// procedures, so calls on one connection run concurrently and replies go out in completion
// order. Every per-connection resource is bounded (see ServerOptions).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "rpc/program.h"

namespace manifold::rpc {

// How long an I/O thread that has run out of work keeps polling its sockets before it sleeps.
// A call that arrives in that time is read at once, without the wake-up of a sleeping thread,
// which on an idle core costs more than the call (docs/architecture.md, "The RPC server").
inline constexpr uint32_t kIoSpinUsDefault = 50;
inline constexpr uint32_t kIoSpinUsMax = 10000;

// After an accept fails (out of descriptors, buffers or memory) the acceptor waits this long
// before it tries again. The connection stays in the listen backlog, so trying again at once
// would fail at once, over and over, burning a core and flooding the log.
inline constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Warnings about connections refused at connections_max: at most one per interval, with the
// count of refusals since the last one.
inline constexpr std::chrono::seconds kRefusalWarnInterval{10};
inline constexpr size_t kCallsInProgressMaxDefault = 256;
inline constexpr std::chrono::milliseconds kReplyStallTimeoutDefault{5000};
// How often the server looks for stalled peers while calls in progress are at their bound.
inline constexpr std::chrono::milliseconds kStallCheckInterval{250};
inline constexpr std::chrono::milliseconds kFirstRecordTimeoutDefault{30000};
// How often the server looks for connections that have sent no whole record yet.
inline constexpr std::chrono::milliseconds kSilentCheckInterval{1000};
// The fewest connections a server is started with (see ConnectionsThatFit).
inline constexpr size_t kConnectionsMin = 16;
inline constexpr size_t kConnectionsMaxDefault = 4096;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (tests)
  // Largest request record a peer may send; a larger one closes the connection.
  size_t record_bytes_max = 2u << 20;
  // Calls a connection may have in flight; past it the server stops reading from it.
  size_t inflight_per_connection_max = 64;
  // Bytes of replies a connection may have queued for sending (the socket's own buffers not
  // counted); past it the server stops reading from it until the peer reads. One reply may
  // be larger by itself.
  size_t queued_reply_bytes_per_connection_max = 8u << 20;
  // Connections open at once; one more is accepted and closed at once. Each costs a
  // descriptor: ConnectionsThatFit keeps them within the process's open file limit.
  size_t connections_max = kConnectionsMaxDefault;
  // Calls in progress on all connections together: read and not yet answered on the wire
  // (running, held by a gate, or queued for sending). While it is reached no connection reads
  // another call, so calls and replies hold at most about this many records of memory
  // however many peers send (each connection's own bounds above do not add up to a bound).
  size_t calls_in_progress_max = kCallsInProgressMaxDefault;
  // While calls in progress are at their bound, a connection whose peer has taken no whole
  // reply for this long is closed: peers that send calls and read no replies cannot hold the
  // bound and stop everyone else.
  std::chrono::milliseconds reply_stall_timeout = kReplyStallTimeoutDefault;
  // A connection that has not sent one whole record this long after it was accepted is
  // closed, so that peers that open connections and send nothing, or a record a few bytes at
  // a time, do not keep them. A client's first call comes at once; later idleness is not
  // limited. It does not stop a peer that sends one record per connection or keeps opening
  // new ones: connections_max still bounds those.
  std::chrono::milliseconds first_record_timeout = kFirstRecordTimeoutDefault;
  // Procedure threads. 0: four per core, since procedures block in fsync and disk reads.
  size_t worker_threads = 0;
  // Threads reading and writing sockets (and running inline procedures). 0: one per core.
  size_t io_threads = 0;
  // Microseconds an idle I/O thread polls before it sleeps (kIoSpinUsDefault); 0: never polls.
  // At most kIoSpinUsMax.
  uint32_t io_spin_us = kIoSpinUsDefault;
};

struct ServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused_limit{0};
  std::atomic<uint64_t> accept_failures{0};  // accept(2) errors (out of descriptors, ...)
  std::atomic<uint64_t> connections_closed_stalled{0};  // see reply_stall_timeout
  std::atomic<uint64_t> connections_closed_silent{0};   // see first_record_timeout
  std::atomic<uint64_t> reader_waits{0};  // a read loop stopped to wait for room or replies
  std::atomic<uint64_t> records_oversized{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> calls_inline{0};  // of `calls`, those answered on the I/O thread
  std::atomic<uint64_t> replies_held{0};  // replies that waited for their changes' sync
  std::atomic<uint64_t> calls_dropped{0};
  std::atomic<uint64_t> connections_open{0};
};

// Raises the process's soft limit on open descriptors to its hard limit; returns the soft limit
// then in force.
uint64_t RaiseOpenFileLimit();
// How many connections fit beside `reserved` other descriptors under an open file limit of
// `limit`: `wanted`, or fewer if they do not fit; 0 if not even kConnectionsMin do.
size_t ConnectionsThatFit(uint64_t limit, uint64_t reserved, size_t wanted);

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<Dispatcher> dispatcher);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Errors: address in use, bad address.
  Status Start();
  uint16_t port() const { return bound_port_; }
  // Runs the I/O threads until Stop(); returns when they are done.
  void Run();
  // Starts the threads and returns at once (tests).
  void RunInBackground();
  // Thread-safe. Stops accepting, closes connections, waits for in-flight procedures.
  void Stop();
  const ServerStats& stats() const { return *stats_; }
  // Calls in progress on all connections now (see calls_in_progress_max).
  size_t calls_in_progress() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ServerOptions options_;
  std::shared_ptr<Dispatcher> dispatcher_;
  uint16_t bound_port_ = 0;
  std::shared_ptr<ServerStats> stats_ = std::make_shared<ServerStats>();
  std::vector<std::thread> background_;
};

}  // namespace manifold::rpc
