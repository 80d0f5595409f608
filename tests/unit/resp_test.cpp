#include "rsm/resp/command.hpp"
#include "rsm/resp/reply_reader.hpp"

#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace rsm;
using namespace rsm::resp;

TEST_CASE("commands encode as binary-safe arrays of bulk strings", "[unit][resp]") {
  CHECK(encode(command{"PING"}) == "*1\r\n$4\r\nPING\r\n");
  std::string binary("a\0b\r\nc", 6);
  command c{"SET", "k"};
  c.arg(binary);
  CHECK(encode(c) == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\0b\r\nc\r\n", 32));
  CHECK(encode(command{"SET", "k", ""}) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  CHECK(command{"sentinel", "x"}.name() == "SENTINEL");
}

namespace {

const std::string k_stream =
    "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n$0\r\n\r\n"
    "*3\r\n:1\r\n*2\r\n$1\r\na\r\n+b\r\n$3\r\nx\ry\r\n*0\r\n";

std::vector<reply> expected_replies() {
  return {reply::make_status("OK"),
          reply::make_error("ERR bad"),
          reply::make_integer(42),
          reply::make_string("hello"),
          reply::make_nil(),
          reply::make_nil(),
          reply::make_string(""),
          reply::make_array({reply::make_integer(1),
                             reply::make_array({reply::make_string("a"), reply::make_status("b")}),
                             reply::make_string("x\ry")}),
          reply::make_array({})};
}

std::vector<reply> read_in_pieces(const std::vector<std::size_t>& cuts) {
  reply_reader reader;
  std::vector<reply> out;
  std::size_t pos = 0;
  for (std::size_t cut : cuts) {
    REQUIRE(reader.feed(k_stream.data() + pos, cut - pos));
    pos = cut;
    for (;;) {
      auto r = reader.next();
      REQUIRE(r);
      if (!*r) break;
      out.push_back(std::move(**r));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the reply reader gives the same replies one byte at a time and in random splits",
          "[unit][resp]") {
  std::vector<std::size_t> whole{k_stream.size()};
  CHECK(read_in_pieces(whole) == expected_replies());

  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i <= k_stream.size(); ++i) bytes.push_back(i);
  CHECK(read_in_pieces(bytes) == expected_replies());

  std::mt19937 rng(12345);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    while (pos < k_stream.size()) {
      pos = std::min(k_stream.size(), pos + 1 + rng() % 9);
      cuts.push_back(pos);
    }
    CHECK(read_in_pieces(cuts) == expected_replies());
  }
}

TEST_CASE("the reply reader reports protocol errors and its bound", "[unit][resp]") {
  for (const char* bad : {"?what\r\n", ":12x\r\n", "$abc\r\n"}) {
    INFO(bad);
    reply_reader reader;
    REQUIRE(reader.feed(bad, std::strlen(bad)));
    auto r = reader.next();
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::protocol_error);
    CHECK_FALSE(r.error().detail.empty());
  }
  reply_reader small(16);
  std::string big = "$100\r\n" + std::string(20, 'x');
  auto f = small.feed(big.data(), big.size());
  REQUIRE_FALSE(f);
  CHECK(f.error() == errc::buffer_full);
}

TEST_CASE("reply helpers", "[unit][resp]") {
  CHECK(reply::make_status("OK").is_ok());
  CHECK_FALSE(reply::make_string("OK").is_ok());
  CHECK(reply::make_string("123").as_integer() == 123);
  CHECK_FALSE(reply::make_string("12a").as_integer());
  CHECK(reply::make_integer(7).as_text() == "7");
  CHECK(reply::make_array({reply::make_string("a\n"), reply::make_nil()}).to_debug_string() ==
        "[\"a\\x0a\",nil]");
}
