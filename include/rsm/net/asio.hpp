#pragma once
/// The Asio names rsm uses everywhere, in one place.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rsm {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

/// Completion token: no exceptions, the error code comes back as the first tuple element.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace rsm
