#include "rsm/net/runtime.hpp"
#include "rsm/net/timeout.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

using namespace rsm;
using namespace std::chrono_literals;
using rsm::net::runtime;

namespace {

// Waits until cancelled (or 60 s, which would fail the test's timing checks).
awaitable<void> wait_for_cancel(bool* cancelled) {
  bool slept = co_await net::async_sleep(60s);
  *cancelled = !slept;
}

awaitable<void> raise_after(int sig, duration d) {
  co_await net::async_sleep(d);
  std::raise(sig);
}

}  // namespace

TEST_CASE("run returns when every task has finished", "[unit][runtime]") {
  runtime rt({.data_threads = 1, .stop_deadline = 1s, .handle_signals = true});
  int ran = 0;
  rt.spawn("a", [](int* ran) -> awaitable<void> {
    co_await net::async_sleep(10ms);
    ++*ran;
  }(&ran));
  std::thread::id data_thread;
  rt.spawn_data(0, "b", [](std::thread::id* id) -> awaitable<void> {
    *id = std::this_thread::get_id();
    co_return;
  }(&data_thread));
  CHECK(rt.run() == 0);
  CHECK(ran == 1);
  CHECK(data_thread != std::thread::id());
  CHECK(data_thread != std::this_thread::get_id());
}

TEST_CASE("SIGTERM stops every task through cancellation", "[unit][runtime]") {
  runtime rt({.data_threads = 1, .stop_deadline = 5s, .handle_signals = true});
  bool control_cancelled = false, data_cancelled = false, hook = false;
  rt.on_stop([&hook] { hook = true; });
  rt.spawn("waiter", wait_for_cancel(&control_cancelled));
  rt.spawn_data(0, "data-waiter", wait_for_cancel(&data_cancelled));
  rt.spawn("signal", raise_after(SIGTERM, 50ms));
  auto start = std::chrono::steady_clock::now();
  CHECK(rt.run() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK(control_cancelled);
  CHECK(data_cancelled);
  CHECK(hook);
}

TEST_CASE("a task that ignores cancellation is abandoned at the hard deadline", "[unit][runtime]") {
  runtime rt({.data_threads = 0, .stop_deadline = 200ms, .handle_signals = false});
  rt.spawn("stubborn", []() -> awaitable<void> {
    co_await asio::this_coro::throw_if_cancelled(false);
    for (int i = 0; i < 600; ++i) {
      asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
      // Swallows cancellation on purpose and keeps going.
      co_await t.async_wait(use_nothrow);
    }
  }());
  rt.spawn("stopper", [](runtime* rt) -> awaitable<void> {
    co_await net::async_sleep(20ms);
    rt->request_stop(3);
  }(&rt));
  auto start = std::chrono::steady_clock::now();
  CHECK(rt.run() == 3);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 200ms);
  CHECK(took < 5s);
}

TEST_CASE("SIGHUP reaches the reload hooks", "[unit][runtime]") {
  runtime rt({.data_threads = 0, .stop_deadline = 1s, .handle_signals = true});
  int reloads = 0;
  rt.on_reload([&reloads, &rt] {
    if (++reloads == 2) rt.request_stop();
  });
  bool cancelled = false;
  rt.spawn("waiter", wait_for_cancel(&cancelled));
  rt.spawn("hup", []() -> awaitable<void> {
    co_await net::async_sleep(20ms);
    std::raise(SIGHUP);
    co_await net::async_sleep(20ms);
    std::raise(SIGHUP);
  }());
  CHECK(rt.run() == 0);
  CHECK(reloads == 2);
  CHECK(cancelled);
}

TEST_CASE("a task that throws stops the runtime with exit code 1", "[unit][runtime]") {
  runtime rt({.data_threads = 0, .stop_deadline = 1s, .handle_signals = false});
  bool cancelled = false;
  rt.spawn("waiter", wait_for_cancel(&cancelled));
  rt.spawn("thrower", []() -> awaitable<void> {
    co_await net::async_sleep(10ms);
    throw std::runtime_error("broken invariant");
  }());
  CHECK(rt.run() == 1);
  CHECK(cancelled);
}

TEST_CASE("with_timeout returns the value or the timeout error", "[unit][runtime]") {
  asio::io_context ctx;
  std::optional<result<int>> fast, slow;
  asio::co_spawn(
      ctx,
      [&]() -> awaitable<void> {
        fast = co_await net::with_timeout([]() -> awaitable<result<int>> { co_return 7; }(), 1s);
        slow = co_await net::with_timeout(
            []() -> awaitable<result<int>> {
              co_await net::async_sleep(10s);
              co_return 8;
            }(),
            50ms, error(errc::connect_timeout, "x"));
      },
      asio::detached);
  ctx.run_for(5s);
  REQUIRE(fast);
  REQUIRE(*fast);
  CHECK(**fast == 7);
  REQUIRE(slow);
  REQUIRE_FALSE(*slow);
  CHECK(slow->error() == errc::connect_timeout);
}

TEST_CASE("a task ended by Asio's throw on cancellation is a clean stop", "[unit][runtime]") {
  runtime rt({.data_threads = 0, .stop_deadline = 5s, .handle_signals = true});
  // Awaits a helper coroutine after the cancellation: Asio throws operation_aborted there.
  rt.spawn("awaits-after-cancel", []() -> awaitable<void> {
    co_await net::async_sleep(60s);
    co_await []() -> awaitable<void> { co_return; }();
  }());
  rt.spawn("signal", raise_after(SIGTERM, 50ms));
  CHECK(rt.run() == 0);
}

TEST_CASE("detached work a task left behind does not keep a stopped runtime alive",
          "[unit][runtime]") {
  runtime rt({.data_threads = 1, .stop_deadline = 30s, .handle_signals = true});
  // Detached, not a runtime task: nothing cancels it.
  asio::co_spawn(
      rt.control(), []() -> awaitable<void> { co_await net::async_sleep(60s); }(), asio::detached);
  rt.spawn("signal", raise_after(SIGTERM, 50ms));
  auto start = std::chrono::steady_clock::now();
  CHECK(rt.run() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
}
