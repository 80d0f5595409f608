#pragma once
/// Runs several coroutines at once and waits for all of them.
#include "rsm/net/asio.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace rsm::net {

/// Every op must report failures as values and bound its own time: an op that throws leaves
/// its slot empty (`std::nullopt`). If the caller is cancelled, the ops run on to completion
/// in the background (they own their state) and the caller gets errc-free empty slots.
template <class T>
awaitable<std::vector<std::optional<T>>> async_gather(std::vector<awaitable<T>> ops) {
  auto ex = co_await asio::this_coro::executor;
  struct shared {
    explicit shared(asio::any_io_executor e, std::size_t n)
        : results(n), remaining(n), done(e, asio::steady_timer::time_point::max()) {}
    std::vector<std::optional<T>> results;
    std::size_t remaining;
    asio::steady_timer done;
  };
  auto s = std::make_shared<shared>(ex, ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    asio::co_spawn(ex, std::move(ops[i]), [s, i](std::exception_ptr e, T v) {
      if (!e) s->results[i].emplace(std::move(v));
      if (--s->remaining == 0) s->done.cancel();
    });
  }
  while (s->remaining > 0) {
    co_await s->done.async_wait(use_nothrow);  // cancelled when the last op is done
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) break;
  }
  co_return s->remaining == 0 ? std::move(s->results)
                              : std::vector<std::optional<T>>(s->results.size());
}

}  // namespace rsm::net
