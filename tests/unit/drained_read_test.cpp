// drained_reader (src/proxy/drained_read.hpp): async_read_some that, after a read which drained
// the socket, waits for epoll's next edge without a recv first. What could go wrong is a lost
// wake-up (bytes that came after the drain never reported), a lost or reordered byte, and a read
// that outlives its socket or its io_context. Real loopback TCP sockets on ephemeral ports.
#include "proxy/drained_read.hpp"
#include "support/deadline.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace rsm;
using rsm::test::run_with_deadline;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

struct socket_pair {
  tcp::socket writer;
  tcp::socket reader;
};

awaitable<socket_pair> connected_pair() {
  auto ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket writer(ex);
  auto [cec] = co_await writer.async_connect(acceptor.local_endpoint(), use_nothrow);
  REQUIRE_FALSE(cec);
  auto [aec, reader] = co_await acceptor.async_accept(use_nothrow);
  REQUIRE_FALSE(aec);
  co_return socket_pair{std::move(writer), std::move(reader)};
}

// Reads exactly `want` bytes through `r`, a read at a time.
awaitable<std::string> read_exactly(proxy::drained_reader& r, std::size_t want,
                                    std::size_t buffer) {
  std::string got;
  std::string buf(buffer, '\0');
  while (got.size() < want) {
    auto [ec, n] = co_await r.async_read(
        asio::buffer(buf.data(), std::min(buffer, want - got.size())), use_nothrow);
    REQUIRE_FALSE(ec);
    got.append(buf.data(), n);
  }
  co_return got;
}

awaitable<void> write_all(tcp::socket& s, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), use_nothrow);
  REQUIRE_FALSE(ec);
  REQUIRE(n == bytes.size());
}

std::string pattern(std::size_t size, std::size_t seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("drained reads: bytes that come after a read drained the socket are reported",
          "[unit][proxy][drained]") {
  run_with_deadline(
      []() -> awaitable<void> {
        auto pair = co_await connected_pair();
        proxy::drained_reader r(pair.reader);
        // Every round leaves the socket drained (the buffer is larger than what comes), then the
        // next bytes come either before the next read starts or while it waits in epoll (a lost
        // wake-up would hang the round until the deadline).
        for (std::size_t round = 0; round < 2000; ++round) {
          auto bytes = pattern(1 + round % 97, round);
          std::string got;
          if (round % 2 == 0) {
            co_await write_all(pair.writer, bytes);
            got = co_await read_exactly(r, bytes.size(), 4096);
          } else {
            got = co_await (read_exactly(r, bytes.size(), 4096) && write_all(pair.writer, bytes));
          }
          REQUIRE(got == bytes);
        }
      }(),
      30s);
}

TEST_CASE("drained reads: a stream larger than the buffer arrives whole and in order",
          "[unit][proxy][drained]") {
  run_with_deadline(
      []() -> awaitable<void> {
        auto pair = co_await connected_pair();
        proxy::drained_reader r(pair.reader);
        auto bytes = pattern(4 << 20, 3);
        auto got = co_await (read_exactly(r, bytes.size(), 1000) && write_all(pair.writer, bytes));
        CHECK(got == bytes);
      }(),
      30s);
}

TEST_CASE("drained reads: end of stream ends a waiting read", "[unit][proxy][drained]") {
  run_with_deadline(
      []() -> awaitable<void> {
        auto pair = co_await connected_pair();
        proxy::drained_reader r(pair.reader);
        auto byte = std::string("x");
        auto got = co_await (read_exactly(r, 1, 64) && write_all(pair.writer, byte));
        CHECK(got == "x");
        pair.writer.close();
        char buf[64];
        auto [ec, n] = co_await r.async_read(asio::buffer(buf), use_nothrow);
        CHECK(ec == asio::error::eof);
        CHECK(n == 0);
      }(),
      30s);
}

TEST_CASE("drained reads: an end of stream that came with the last data is seen",
          "[unit][proxy][drained]") {
  // Plain handlers on one io_context, so that the order of events is exact: a read waits in
  // epoll; the peer writes and closes before the loop runs again (one epoll event for both);
  // that read gets the data, short, so the socket counts as drained; the next read waits for an
  // edge that will not come, until the sweep's probe raises one.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket writer(io);
  writer.connect(acceptor.local_endpoint());
  tcp::socket reader = acceptor.accept();
  proxy::drained_reader r(reader);
  char buf[64];
  std::optional<std::pair<error_code, std::size_t>> first, second;
  r.async_read(asio::buffer(buf), [&](error_code ec, std::size_t n) {
    first.emplace(ec, n);
    r.async_read(asio::buffer(buf),
                 [&](error_code ec2, std::size_t n2) { second.emplace(ec2, n2); });
  });
  io.poll();  // the read is queued (nothing to read yet)
  REQUIRE_FALSE(first);
  asio::write(writer, asio::buffer(std::string_view("abc")));
  writer.close();
  for (int i = 0; i < 200 && !first; ++i) io.run_for(5ms);
  REQUIRE(first);
  CHECK_FALSE(first->first);
  CHECK(first->second == 3);
  io.run_for(100ms);
  // Where Asio reports this end by itself, the probe finds it all the same.
  bool revealed = proxy::reveal_end_of_stream(reader);
  CHECK((revealed || second));
  for (int i = 0; i < 200 && !second; ++i) io.run_for(5ms);
  REQUIRE(second);
  CHECK(second->first == asio::error::eof);
  CHECK(second->second == 0);

  // A probe reads nothing: a socket with data pending is left alone.
  tcp::socket w2(io);
  w2.connect(acceptor.local_endpoint());
  tcp::socket r2 = acceptor.accept();
  asio::write(w2, asio::buffer(std::string_view("x")));
  CHECK_FALSE(proxy::reveal_end_of_stream(r2));
  std::size_t n = r2.read_some(asio::buffer(buf));
  CHECK(std::string_view(buf, n) == "x");
}

TEST_CASE(
    "drained reads: closing the socket aborts a waiting read and a closed socket fails at once",
    "[unit][proxy][drained]") {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket writer(ctx);
  tcp::socket reader(ctx);
  writer.connect(acceptor.local_endpoint());
  acceptor.accept(reader);
  proxy::drained_reader r(reader);
  char buf[16];
  std::vector<std::pair<error_code, std::size_t>> done;
  auto record = [&done](error_code ec, std::size_t n) { done.emplace_back(ec, n); };
  // One byte: a short read, so the socket is drained and the next read waits without a recv.
  asio::write(writer, asio::buffer("y", 1));
  r.async_read(asio::buffer(buf), record);
  ctx.run_for(10s);  // returns when the read completed (no other work)
  ctx.restart();
  REQUIRE(done.size() == 1);
  CHECK_FALSE(done[0].first);
  CHECK(done[0].second == 1);
  r.async_read(asio::buffer(buf), record);
  CHECK(done.size() == 1);  // nothing to read: it waits, and never completes inline
  reader.close();
  ctx.run_for(10s);
  ctx.restart();
  REQUIRE(done.size() == 2);
  CHECK(done[1].first == asio::error::operation_aborted);
  CHECK(done[1].second == 0);
  r.async_read(asio::buffer(buf), record);
  ctx.run_for(10s);
  REQUIRE(done.size() == 3);
  CHECK(done[2].first == asio::error::bad_descriptor);
}

TEST_CASE(
    "drained reads: an io_context destroyed while a read waits destroys its coroutine without "
    "resuming it",
    "[unit][proxy][drained]") {
  std::weak_ptr<int> alive;
  bool waiting = false;
  bool resumed = false;
  {
    asio::io_context ctx;
    auto guard = std::make_shared<int>(1);
    alive = guard;
    asio::co_spawn(
        ctx,
        [](std::shared_ptr<int> held, bool* waiting, bool* resumed) -> awaitable<void> {
          auto pair = co_await connected_pair();
          proxy::drained_reader r(pair.reader);
          char buf[16];
          *waiting = true;
          auto never = co_await r.async_read(asio::buffer(buf), use_nothrow);  // nothing ever comes
          (void)never;
          *resumed = true;
          (void)held;
        }(std::move(guard), &waiting, &resumed),
        asio::detached);
    // Run until the coroutine has queued its read (queued before run_one returns).
    for (int i = 0; i < 1000 && !waiting; ++i) ctx.run_one_for(100ms);
    REQUIRE(waiting);
    ctx.poll();
  }
  CHECK_FALSE(resumed);
  CHECK(alive.expired());  // the coroutine frame (holding `held`) was destroyed
}
