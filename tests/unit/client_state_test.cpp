#include "rsm/proxy/client_state.hpp"

#include <catch2/catch.hpp>

#include <climits>

using namespace rsm;

TEST_CASE("client state: integers as Redis's string2ll reads them", "[unit][client_state]") {
  CHECK(proxy::redis_integer("0") == 0);
  CHECK(proxy::redis_integer("7") == 7);
  CHECK(proxy::redis_integer("-7") == -7);
  CHECK(proxy::redis_integer("9223372036854775807") == LLONG_MAX);
  CHECK(proxy::redis_integer("-9223372036854775808") == LLONG_MIN);
  for (auto s : {"", "-", "01", "-0", "+1", " 1", "1 ", "1x", "9223372036854775808",
                 "-9223372036854775809", "99999999999999999999", "0x10"}) {
    INFO(s);
    CHECK_FALSE(proxy::redis_integer(s));
  }
}

TEST_CASE("client state: HELLO parsed as Redis 7.0 parses it", "[unit][client_state]") {
  using args = std::vector<std::string>;
  auto h = proxy::parse_hello(args{"HELLO"});
  CHECK(h.error.empty());
  CHECK(h.protocol == 0);
  h = proxy::parse_hello(args{"hello", "3", "auth", "default", "pw", "setname", "app"});
  CHECK(h.error.empty());
  CHECK(h.protocol == 3);
  CHECK(h.auth);
  CHECK(h.username == "default");
  CHECK(h.password == "pw");
  CHECK(h.setname == "app");
  CHECK(proxy::parse_hello(args{"HELLO", "4"}).error == "NOPROTO unsupported protocol version");
  CHECK(proxy::parse_hello(args{"HELLO", "-1"}).error == "NOPROTO unsupported protocol version");
  CHECK(proxy::parse_hello(args{"HELLO", "03"}).error ==
        "ERR Protocol version is not an integer or out of range");
  CHECK(proxy::parse_hello(args{"HELLO", "AUTH", "default", "pw"}).error ==
        "ERR Protocol version is not an integer or out of range");
  CHECK(proxy::parse_hello(args{"HELLO", "3", "AUTH", "default"}).error ==
        "ERR Syntax error in HELLO option 'AUTH'");
  CHECK(proxy::parse_hello(args{"HELLO", "3", "SETNAME"}).error ==
        "ERR Syntax error in HELLO option 'SETNAME'");
  CHECK(proxy::parse_hello(args{"HELLO", "3", std::string("A\0B", 3)}).error ==
        "ERR Syntax error in HELLO option 'A'");
  // The name is taken as the option comes, whatever follows (Redis 7.0).
  h = proxy::parse_hello(args{"HELLO", "3", "SETNAME", "ok", "BAD"});
  CHECK(h.error == "ERR Syntax error in HELLO option 'BAD'");
  CHECK(h.setname == "ok");
  h = proxy::parse_hello(args{"HELLO", "3", "SETNAME", "a b", "BAD"});
  CHECK(h.error == "ERR Client names cannot contain spaces, newlines or special characters.");
  CHECK_FALSE(h.setname);
  CHECK(proxy::parse_hello(args{"HELLO", "2", "SETNAME", ""}).setname == "");
}
