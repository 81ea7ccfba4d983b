// The one place Boost.Asio is included. Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>, so it must come first (DESIGN.md section 10).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::rpc {

// The largest write asio::async_write hands the kernel at once. Its own completion conditions
// (transfer_all, transfer_exactly) cap each write at 64 KiB, which cut a 1 MiB READ reply
// into 16 sendmsg calls and 16 handler rounds; a whole record now goes in one call when the
// socket takes it.
inline constexpr std::size_t kSocketWriteBytesMax = 64 << 20;

// Completion condition for async_write: everything, in writes of up to kSocketWriteBytesMax.
inline std::size_t WholeRecord(const boost::system::error_code& ec, std::size_t) {
  return ec ? 0 : kSocketWriteBytesMax;
}

}  // namespace manifold::rpc
