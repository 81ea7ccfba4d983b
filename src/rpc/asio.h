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
