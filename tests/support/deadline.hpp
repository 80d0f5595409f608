#pragma once
/// Runs a coroutine to completion on a private io_context under a hard deadline. A coroutine
/// still running at the deadline fails the test (it is destroyed with the io_context). When the
/// coroutine ends, so does everything else it spawned on that io_context.
///
/// Never write `co_await` inside REQUIRE/CHECK: GCC 12 evaluates the awaited operation a second
/// time (Catch's macro repeats the expression in a short-circuited branch). Await first, then
/// assert on the variable. And no commas in test names: Catch reads them as "or" in filters.
#include "rsm/net/asio.hpp"

#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace rsm::test {

template <class T>
T run_with_deadline(awaitable<T> task,
                    std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  asio::io_context ctx;
  std::exception_ptr error;
  bool done = false;
  if constexpr (std::is_void_v<T>) {
    asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e) {
      error = e;
      done = true;
      ctx.stop();  // the test is over: helpers it spawned (servers, loops) go with it
    });
    ctx.run_for(deadline);
    if (!done) FAIL("coroutine still running at its deadline");
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> value;
    asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e, T v) {
      error = e;
      if (!e) value.emplace(std::move(v));
      done = true;
      ctx.stop();
    });
    ctx.run_for(deadline);
    if (!done) FAIL("coroutine still running at its deadline");
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
}

}  // namespace rsm::test
