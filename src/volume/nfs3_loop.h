// Internal to the NFSv3 driver: the thread that owns one libnfs RPC context (one TCP
// connection to one server port) and runs calls on it. libnfs contexts are not thread-safe,
// so only this thread touches the context; other threads hand calls over through a bounded
// queue and wake the thread with an eventfd.
//
// Limits: `inflight_max` RPCs on the wire, `queue_max` calls waiting behind them, a deadline
// per call (`request_timeout` from submission) and per connection attempt. The connection is
// made when a call needs it and dropped when it fails or a call in flight misses its deadline;
// calls in flight then fail with kUnavailable, calls still queued go out on the next
// connection. libnfs's own timeouts and auto-reconnect are not used (see nfs3_loop.cc).
#pragma once

#include <nfsc/libnfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "volume/nfs3_volume.h"

namespace manifold::volume::internal {

using Clock = std::chrono::steady_clock;

// One RPC, built on any thread, started and finished on the loop thread.
struct Call {
  const char* proc_name = "";  // "READ": for messages
  Clock::time_point deadline;  // set by Submit
  // Starts the RPC with one rpc_*_async(rpc, cb, &args, private_data) and returns its result
  // (0: queued by libnfs, which then calls `cb` exactly once). libnfs encodes the arguments
  // during this call, so they only need to live until it returns.
  std::function<int(rpc_context* rpc, rpc_cb cb, void* private_data)> start;
  // Runs exactly once: with an ok status and the decoded reply (READ3res*, ..., valid only
  // during the call), or with an error and nullptr.
  std::function<void(const Status& status, void* reply)> finish;
};

struct LoopOptions {
  std::string host;
  uint16_t port = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t inflight_max = 64;
  uint32_t queue_max = 4096;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{10000};
};

class Nfs3Loop {
 public:
  static Result<std::unique_ptr<Nfs3Loop>> Start(LoopOptions options);
  // Fails every queued and in-flight call with kUnavailable ("volume closed"), then joins.
  ~Nfs3Loop();
  Nfs3Loop(const Nfs3Loop&) = delete;
  Nfs3Loop& operator=(const Nfs3Loop&) = delete;

  // From any thread. Fails the call at once (on this thread) when the queue is full or the
  // loop is stopping.
  void Submit(std::unique_ptr<Call> call);
  bool OnLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  Nfs3VolumeStats stats() const;
  std::string endpoint() const { return options_.host + ":" + std::to_string(options_.port); }

 private:
  struct InFlight {
    Nfs3Loop* loop;
    uint64_t id;
    std::unique_ptr<Call> call;
  };
  enum class Conn { kDown, kConnecting, kUp };

  explicit Nfs3Loop(LoopOptions options) : options_(std::move(options)) {}
  void Run();
  void RunOnce();
  void ExpireDeadlines(Clock::time_point now);
  void StartQueued();
  void StartCall(std::unique_ptr<Call> call);
  void Connect();
  void Service(int revents);
  void FinishErrored(bool connection_lost, const std::string& reason);
  void Disconnect(const std::string& reason);
  void FailQueued(const Status& status);
  int PollTimeoutMs(Clock::time_point now);
  void Finish(std::unique_ptr<Call> call, const Status& status, void* reply);
  void HandleReply(InFlight* f, int rpc_status, void* data);
  static void OnReply(rpc_context* rpc, int rpc_status, void* data, void* private_data);
  static void OnConnect(rpc_context* rpc, int rpc_status, void* data, void* private_data);

  const LoopOptions options_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::deque<std::unique_ptr<Call>> queue_;  // guarded by mu_
  bool closed_ = false;                      // guarded by mu_

  // Loop thread only.
  rpc_context* rpc_ = nullptr;
  Conn conn_ = Conn::kDown;
  Clock::time_point connect_deadline_;
  std::map<uint64_t, std::unique_ptr<InFlight>> inflight_;  // by id: oldest first
  uint64_t next_id_ = 0;
  std::string down_reason_;     // why the context is being destroyed: for the cancelled calls
  bool reported_down_ = false;  // an outage was logged and no connection succeeded since
  // Calls that libnfs failed with RPC_STATUS_ERROR during rpc_service(); whether that was
  // the server rejecting one call or the connection failing is known only once it returns.
  std::vector<std::pair<uint64_t, std::string>> errored_;

  struct Counters {
    std::atomic<uint64_t> requests_started{0}, requests_refused{0}, requests_timed_out{0},
        requests_failed_unavailable{0}, connects{0}, connect_failures{0}, inflight{0}, queued{0};
  };
  Counters counters_;
};

}  // namespace manifold::volume::internal
