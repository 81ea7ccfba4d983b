#include "rpc/server.h"

#include <spdlog/spdlog.h>

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <mutex>

#include "rpc/asio.h"
#include "rpc/connection.h"

namespace manifold::rpc {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Server::Impl {
  Impl(size_t workers, size_t io_threads) : pool(workers) {
    // One io_context per I/O thread, each run by that thread alone: a connection lives on
    // one context, so its reads, inline procedures and writes never hop between threads.
    for (size_t i = 0; i < io_threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  }
  asio::io_context& io() { return *ios[0]; }  // the acceptor's
  asio::io_context& NextIo() { return *ios[next_io++ % ios.size()]; }
  std::vector<std::unique_ptr<asio::io_context>> ios;
  size_t next_io = 0;  // accept loop only
  asio::thread_pool pool;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;  // the accept loop's wait after a failure
  std::unique_ptr<asio::steady_timer> stall_check;   // the stall sweep's wait
  std::shared_ptr<CallAdmission> admission;
  std::mutex mu;
  std::list<std::weak_ptr<Connection>> connections;  // guarded by mu
  bool stopped = false;
};

Server::Server(ServerOptions options, std::shared_ptr<Dispatcher> dispatcher)
    : options_(std::move(options)), dispatcher_(std::move(dispatcher)) {
  if (options_.worker_threads == 0) {
    options_.worker_threads = std::max(4u, 4 * std::thread::hardware_concurrency());
  }
  if (options_.io_threads == 0) options_.io_threads = std::max(1u, std::thread::hardware_concurrency());
  impl_ = std::make_unique<Impl>(options_.worker_threads, options_.io_threads);
  options_.calls_in_progress_max = std::max<size_t>(1, options_.calls_in_progress_max);
  if (options_.first_record_timeout <= std::chrono::milliseconds::zero()) {
    options_.first_record_timeout = kFirstRecordTimeoutDefault;
  }
  impl_->admission = std::make_shared<CallAdmission>(options_.calls_in_progress_max);
}

Server::~Server() {
  Stop();
  // Once the I/O threads are done (Run returned), a call they answered inline after Stop's
  // quiesce may still have a held reply: its gate answers it before the contexts go.
  dispatcher_->QuiesceGates();
}

Status Server::Start() {
  // Asio makes a context's reactor (an epoll, an eventfd and a timerfd) with the first socket
  // on it, which for a connection happens inside async_accept, where a failure to get those
  // descriptors ends the process. Make them all now, before anything listens.
  try {
    for (auto& io : impl_->ios) tcp::socket reactor_maker(*io);
  } catch (const boost::system::system_error& e) {
    return Status(Code::kUnavailable, std::string("cannot set up the I/O threads: ") + e.what());
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec) return Status(Code::kInvalid, "bad listen address '" + options_.address + "'");
  tcp::endpoint endpoint(address, options_.port);
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io());
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(Code::kUnavailable, "cannot listen on " + options_.address + ":" +
                                          std::to_string(options_.port) + ": " + ec.message());
  }
  bound_port_ = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  impl_->accept_retry = std::make_unique<asio::steady_timer>(impl_->io());

  asio::co_spawn(
      impl_->io(),
      [this]() -> asio::awaitable<void> {
        using Clock = std::chrono::steady_clock;
        uint64_t failures_in_a_row = 0;
        uint64_t refusals_unreported = 0;
        Clock::time_point last_refusal_warning;
        for (;;) {
          boost::system::error_code ec;
          tcp::socket socket = co_await impl_->acceptor->async_accept(
              impl_->NextIo(), asio::redirect_error(asio::use_awaitable, ec));
          if (ec == asio::error::operation_aborted || !impl_->acceptor->is_open()) co_return;
          if (ec) {
            stats_->accept_failures++;
            if (failures_in_a_row++ == 0) {
              spdlog::warn("rpc: accept failed: {}; trying again every {} ms", ec.message(),
                           kAcceptRetryDelay.count());
            }
            impl_->accept_retry->expires_after(kAcceptRetryDelay);
            co_await impl_->accept_retry->async_wait(
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted) co_return;
            continue;
          }
          if (failures_in_a_row > 0) {
            spdlog::info("rpc: accepting again after {} failed accepts", failures_in_a_row);
            failures_in_a_row = 0;
          }
          if (stats_->connections_open.load() >= options_.connections_max) {
            stats_->connections_refused_limit++;
            refusals_unreported++;
            const Clock::time_point now = Clock::now();
            if (last_refusal_warning == Clock::time_point() ||
                now - last_refusal_warning >= kRefusalWarnInterval) {
              spdlog::warn("rpc: {} connections open (connections_max): refused {} since the "
                           "last warning",
                           options_.connections_max, refusals_unreported);
              last_refusal_warning = now;
              refusals_unreported = 0;
            }
            socket.close(ec);
            continue;
          }
          stats_->connections_accepted++;
          auto conn = std::make_shared<Connection>(std::move(socket), impl_->pool, dispatcher_,
                                                   options_, stats_, impl_->admission);
          {
            std::lock_guard lock(impl_->mu);
            impl_->connections.remove_if([](auto& w) { return w.expired(); });
            impl_->connections.push_back(conn);
          }
          conn->Start();
        }
      },
      asio::detached);

  // While calls in progress are at their bound, close the connections whose peers take no
  // replies (ServerOptions::reply_stall_timeout); below it, wake readers still waiting. Every
  // kSilentCheckInterval, close the connections that sent nothing (first_record_timeout).
  impl_->stall_check = std::make_unique<asio::steady_timer>(impl_->io());
  asio::co_spawn(
      impl_->io(),
      [this]() -> asio::awaitable<void> {
        static_assert(kSilentCheckInterval >= kStallCheckInterval &&
                      (kSilentCheckInterval % kStallCheckInterval).count() == 0);
        constexpr uint64_t kSilentCheckTicks = kSilentCheckInterval / kStallCheckInterval;
        constexpr uint64_t kSilentReportTicks =
            kSilentCheckTicks * (kRefusalWarnInterval / kSilentCheckInterval);
        uint64_t ticks = 0, silent_reported = 0;
        for (;;) {
          boost::system::error_code ec;
          impl_->stall_check->expires_after(kStallCheckInterval);
          co_await impl_->stall_check->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec == asio::error::operation_aborted) co_return;
          const bool full = impl_->admission->Full();
          const bool silent_check = ++ticks % kSilentCheckTicks == 0;
          // Room, and readers still waiting: the ones woken last took no place.
          if (!full) impl_->admission->WakeAll();
          if (!full && !silent_check) continue;
          if (ticks % kSilentReportTicks == 0) {  // one warning per kRefusalWarnInterval
            const uint64_t closed = stats_->connections_closed_silent.load();
            if (closed != silent_reported) {
              spdlog::warn("rpc: closed {} connections that sent no whole record within {} ms",
                           closed - silent_reported, options_.first_record_timeout.count());
              silent_reported = closed;
            }
          }
          std::lock_guard lock(impl_->mu);
          if (impl_->stopped) co_return;
          for (auto& w : impl_->connections) {
            auto c = w.lock();
            if (!c) continue;
            if (full) c->CloseIfStalled(options_.reply_stall_timeout);
            if (silent_check && !c->record_seen()) c->CloseIfSilent(options_.first_record_timeout);
          }
        }
      },
      asio::detached);
  return Status::Ok();
}

size_t Server::calls_in_progress() const { return impl_->admission->in_progress(); }

uint64_t RaiseOpenFileLimit() {
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return 0;
  if (nofile.rlim_cur < nofile.rlim_max) {
    struct rlimit raised = nofile;
    raised.rlim_cur = nofile.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
  }
  return nofile.rlim_cur;
}

size_t ConnectionsThatFit(uint64_t limit, uint64_t reserved, size_t wanted) {
  const uint64_t room = limit > reserved ? limit - reserved : 0;
  if (room < kConnectionsMin) return 0;
  return static_cast<size_t>(std::min<uint64_t>(room, wanted));
}

namespace {

// Runs `io` until it is stopped. Once it has nothing to do, it polls (non-blocking
// epoll_wait, yielding the core to any other runnable thread in between) for `spin` before it
// sleeps: a client that sends its next call within that time has it read at once. Both wake-ups
// a call costs otherwise, this thread's and the client's, are on idle cores, whose exit from
// idle is the largest part of a small call's round trip (docs/benchmarks.md).
void RunIo(asio::io_context& io, std::chrono::microseconds spin) {
  using Clock = std::chrono::steady_clock;
  if (spin.count() == 0) {
    io.run();
    return;
  }
  while (!io.stopped()) {
    auto until = Clock::now() + spin;
    while (!io.stopped() && Clock::now() < until) {
      if (io.poll() > 0) {
        until = Clock::now() + spin;
      } else {
        ::sched_yield();
      }
    }
    io.run_one();
  }
}

}  // namespace

void Server::Run() {
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (auto& io : impl_->ios) work.push_back(asio::make_work_guard(*io));
  const std::chrono::microseconds spin(std::min(options_.io_spin_us, kIoSpinUsMax));
  std::vector<std::thread> extra;
  for (size_t i = 1; i < impl_->ios.size(); ++i) {
    extra.emplace_back([this, i, spin] { RunIo(*impl_->ios[i], spin); });
  }
  RunIo(*impl_->ios[0], spin);
  for (auto& t : extra) t.join();
}

void Server::RunInBackground() {
  background_.emplace_back([this] { Run(); });
}

void Server::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  asio::post(impl_->io(), [this] {
    boost::system::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->accept_retry) impl_->accept_retry->cancel();
    if (impl_->stall_check) impl_->stall_check->cancel();
    std::lock_guard lock(impl_->mu);
    for (auto& w : impl_->connections) {
      if (auto c = w.lock()) c->Close();
    }
  });
  impl_->pool.join();  // procedures in flight finish; their replies are dropped
  dispatcher_->QuiesceGates();  // held replies are answered while the I/O contexts exist
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : background_) t.join();
  background_.clear();
}

}  // namespace manifold::rpc
