#include "rsm/address.hpp"
#include "rsm/duration.hpp"

#include "support/printing.hpp"

#include <catch2/catch.hpp>

using namespace rsm;

TEST_CASE("addresses parse as HOST:PORT or :PORT or [V6]:PORT", "[unit][address]") {
  auto a = parse_address("10.0.0.1:6379");
  REQUIRE(a);
  CHECK(a->host == "10.0.0.1");
  CHECK(a->port == 6379);
  CHECK(a->to_string() == "10.0.0.1:6379");

  auto any = parse_address(":8889");
  REQUIRE(any);
  CHECK(any->host.empty());
  CHECK(any->port == 8889);

  auto v6 = parse_address("[::1]:26379");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->to_string() == "[::1]:26379");

  auto name = parse_address("lainlet.lain:9001");
  REQUIRE(name);
  CHECK(name->host == "lainlet.lain");
}

TEST_CASE("bad addresses are refused with a clear message", "[unit][address]") {
  for (const char* s : {"", "6379", "host:", "host:0", "host:65536", "host:12ab", "::1:6379",
                        "[::1]6379", "[::1"}) {
    INFO(s);
    auto a = parse_address(s);
    REQUIRE_FALSE(a);
    CHECK(a.error() == errc::invalid_argument);
    CHECK(a.error().detail.find("want HOST:PORT") != std::string::npos);
  }
}

TEST_CASE("address lists are comma-separated", "[unit][address]") {
  auto l = parse_address_list("127.0.0.1:1, 127.0.0.1:2,,[::1]:3");
  REQUIRE(l);
  REQUIRE(l->size() == 3);
  CHECK((*l)[1].port == 2);
  CHECK(to_string(*l) == "127.0.0.1:1,127.0.0.1:2,[::1]:3");
  CHECK(parse_address_list("")->empty());
  CHECK_FALSE(parse_address_list("127.0.0.1:1,nope"));
}

TEST_CASE("durations take a unit", "[unit][duration]") {
  using namespace std::chrono_literals;
  CHECK(*parse_duration("500ms") == 500ms);
  CHECK(*parse_duration("10s") == 10s);
  CHECK(*parse_duration("2m") == 2min);
  CHECK(*parse_duration("1h") == 1h);
  CHECK(*parse_duration("0") == 0ms);
  for (const char* s : {"", "10", "s", "-1s", "1.5s", "10 s", "10sec", "1d"}) {
    INFO(s);
    CHECK_FALSE(parse_duration(s));
  }
  CHECK(to_string(duration{1500}) == "1500ms");
  CHECK(to_string(duration{180000}) == "3m");
  CHECK(to_string(duration{30000}) == "30s");
}
