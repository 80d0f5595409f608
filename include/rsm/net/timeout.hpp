#pragma once
/// Timeouts in one helper, and a cancellable sleep.
///
/// Asio 1.26 (Boost 1.81) `a || b` waits for the first operation to *succeed*: an operation
/// that throws does not end the race. So every operation raced here reports its errors as
/// values (`result<T>`, `as_tuple`) and never throws.
#include "rsm/duration.hpp"
#include "rsm/error.hpp"
#include "rsm/net/asio.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace rsm::net {

/// Runs `op` against a deadline `d` (zero or less: no deadline). When the deadline passes first,
/// `op` is cancelled and the result is `on_timeout`; when the caller is cancelled, `cancelled`.
template <class T>
awaitable<result<T>> with_timeout(awaitable<result<T>> op, duration d,
                                  error on_timeout = error(errc::timed_out)) {
  if (d.count() <= 0) co_return co_await std::move(op);
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto r = co_await (std::move(op) || timer.async_wait(use_nothrow));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  auto [ec] = std::get<1>(r);
  if (ec) co_return error(errc::cancelled);
  co_return on_timeout;
}

/// Sleeps for `d`; returns false when cancelled first.
inline awaitable<bool> async_sleep(duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  auto [ec] = co_await timer.async_wait(use_nothrow);
  co_return !ec;
}

}  // namespace rsm::net
