#pragma once
/// Shortcuts for tests that use rsm's own RESP client against a fixture server.
#include "rsm/redis/connection.hpp"

#include <catch2/catch.hpp>

#include <chrono>

namespace rsm::test {

/// Options with short timeouts (1 s connect, 2 s per command).
inline redis::options client_options(const address& a) {
  redis::options o;
  o.server = a;
  o.connect_timeout = std::chrono::seconds(1);
  o.command_timeout = std::chrono::seconds(2);
  return o;
}

/// Connects or fails the test.
inline awaitable<redis::connection> must_connect(redis::options o) {
  auto where = o.server.to_string();
  auto c = co_await redis::connection::async_connect(std::move(o));
  if (!c) FAIL("connect " << where << ": " << c.error().message());
  co_return std::move(*c);
}

}  // namespace rsm::test
