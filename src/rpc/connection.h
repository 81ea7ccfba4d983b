// One client TCP connection of the RPC server. Owned by shared_ptr: the read loop, queued
// writes and procedures in flight each hold a reference, so a peer that disconnects mid-call
// only makes the late reply be dropped.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rpc/asio.h"
#include "rpc/program.h"
#include "rpc/record.h"

namespace manifold::rpc {

struct ServerOptions;
struct ServerStats;
class Connection;

// The server-wide bound on calls in progress: read, and not yet answered on the wire (running,
// held by a gate or queued for sending). While it is reached no connection reads another call,
// so what calls and replies hold in memory is bounded however many connections send at once.
// Thread-safe.
class CallAdmission {
 public:
  explicit CallAdmission(size_t max) : max_(max) {}
  bool Full() const { return in_progress_.load(std::memory_order_relaxed) >= max_; }
  size_t in_progress() const { return in_progress_.load(std::memory_order_relaxed); }
  // `connection`'s reader waits for room: it is woken (WakeReader) when a call finishes at
  // the bound, at once if there is room now, and by WakeAll. Its flag marks it waiting; the
  // reader lowers it when it wakes for any reason, and Wake skips entries whose flag is down.
  void WaitForRoom(const std::shared_ptr<Connection>& connection);
  // Wakes every waiting reader: the server's sweep does, so that none waits for long should a
  // woken one take no place.
  void WakeAll();

 private:
  friend class CallSlot;
  // Readers woken by a call that finishes at the bound.
  static constexpr size_t kWakePerRelease = 4;
  void Take() { in_progress_.fetch_add(1, std::memory_order_relaxed); }
  void Give();
  void Wake(size_t most);

  const size_t max_;
  std::atomic<size_t> in_progress_{0};
  std::mutex mu_;
  std::deque<std::weak_ptr<Connection>> waiting_;  // guarded by mu_; oldest first
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, boost::asio::thread_pool& workers,
             std::shared_ptr<Dispatcher> dispatcher, const ServerOptions& options,
             std::shared_ptr<ServerStats> stats, std::shared_ptr<CallAdmission> admission);
  ~Connection();

  void Start();
  // Thread-safe: queues a whole record (with its record mark) for sending.
  void Send(std::vector<uint8_t> record);
  // Thread-safe: closes the socket; pending procedures finish and their replies are dropped.
  void Close();
  const std::string& peer() const { return peer_; }
  // Records on this connection that are RPC replies (the backchannel) go here; unset, they
  // are dropped.
  void SetReplySink(std::function<void(std::vector<uint8_t>)> sink);
  // Runs once when the connection ends (the NFSv4.1 state unbinds it from its sessions).
  void SetCloseHook(std::function<void()> hook);
  // Thread-safe: a read loop waiting for room under the server's bound checks again.
  void WakeReader();
  // Thread-safe: closes the connection if it has had replies queued and the peer has taken no
  // whole reply for `timeout`. The server asks while calls in progress are at their bound, so
  // that peers that send calls and read no replies cannot hold it.
  void CloseIfStalled(std::chrono::milliseconds timeout);
  // Thread-safe: closes the connection if it has not sent one whole record in the `timeout`
  // since it was accepted.
  void CloseIfSilent(std::chrono::milliseconds timeout);
  // Thread-safe: a whole record has come (CloseIfSilent has nothing more to do).
  bool record_seen() const { return record_seen_.load(std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> ReadLoop();
  void Dispatch(std::vector<uint8_t> record);
  // Strand only: sends `reply`, or holds it (counted in flight) until its gate passes.
  void Deliver(Reply reply);
  // Strand only: queues `reply` for sending and starts a write if none is under way.
  void Queue(Reply reply);
  // Strand only: the read loop must wait: the connection's own calls in flight or replies
  // queued are at their bound, or the server's calls in progress are at theirs.
  bool Saturated() const;
  bool OwnBoundsReached() const;
  void DoWrite();
  // Strand only: closes the socket at once and drops every reply not yet sent.
  void Abort();
  // Strand only: drops the queued replies, except one whose write is under way.
  void DropQueued();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::thread_pool& workers_;
  std::shared_ptr<Dispatcher> dispatcher_;
  const size_t inflight_max_;
  const size_t queued_bytes_max_;
  std::shared_ptr<ServerStats> stats_;  // shared: a connection may outlive its server
  std::shared_ptr<CallAdmission> admission_;
  friend class CallAdmission;
  std::atomic<bool> waiting_for_room_{false};  // waiting on admission_'s list
  std::string peer_;
  RecordParser parser_;
  size_t inflight_ = 0;  // strand only
  boost::asio::steady_timer resume_;
  std::deque<Reply> writes_;  // strand only
  size_t queued_bytes_ = 0;   // strand only: the bytes in writes_
  const std::chrono::steady_clock::time_point accepted_at_ = std::chrono::steady_clock::now();
  std::atomic<bool> record_seen_{false};  // a whole record has come (set on the strand)
  // Strand only: when a write last completed, or writes_ last became non-empty.
  std::chrono::steady_clock::time_point last_write_progress_;
  bool writing_ = false;
  bool closed_ = false;
  std::function<void(std::vector<uint8_t>)> reply_sink_;  // strand only
  std::function<void()> close_hook_;                       // strand only
};

}  // namespace manifold::rpc
