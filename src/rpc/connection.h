// One client TCP connection of the RPC server. Owned by shared_ptr: the read loop, queued
// writes and procedures in flight each hold a reference, so a peer that disconnects mid-call
// only makes the late reply be dropped.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rpc/asio.h"
#include "rpc/program.h"
#include "rpc/record.h"

namespace manifold::rpc {

struct ServerOptions;
struct ServerStats;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, boost::asio::thread_pool& workers,
             std::shared_ptr<Dispatcher> dispatcher, const ServerOptions& options,
             std::shared_ptr<ServerStats> stats);
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

 private:
  boost::asio::awaitable<void> ReadLoop();
  void Dispatch(std::vector<uint8_t> record);
  // Strand only: sends `reply`, or holds it (counted in flight) until its gate passes.
  void Deliver(Reply reply);
  // Strand only: queues `reply` for sending and starts a write if none is under way.
  void Queue(Reply reply);
  // Strand only: the read loop must wait (calls in flight or replies queued at their bound).
  bool Saturated() const;
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
  std::string peer_;
  RecordParser parser_;
  size_t inflight_ = 0;  // strand only
  boost::asio::steady_timer resume_;
  std::deque<Reply> writes_;  // strand only
  size_t queued_bytes_ = 0;   // strand only: the bytes in writes_
  bool writing_ = false;
  bool closed_ = false;
  std::function<void(std::vector<uint8_t>)> reply_sink_;  // strand only
  std::function<void()> close_hook_;                       // strand only
};

}  // namespace manifold::rpc
