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

TEST_CASE("client state: unknown commands and subcommands get Redis 7.0's error text",
          "[unit][client_state]") {
  using args = std::vector<std::string>;
  // As redis-server 7.0 answered these (CR and LF become spaces, NUL ends a name, 128 bytes).
  CHECK(proxy::unknown_subcommand_error("CLIENT", "MAINT_NOTIFICATIONS") ==
        "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.");
  CHECK(proxy::unknown_subcommand_error("CLIENT", std::string("a\r\nb\0c", 6)) ==
        "ERR unknown subcommand 'a  b'. Try CLIENT HELP.");
  CHECK(proxy::unknown_subcommand_error("CLIENT", std::string(200, 'x')) ==
        "ERR unknown subcommand '" + std::string(128, 'x') + "'. Try CLIENT HELP.");
  CHECK(proxy::unknown_command_error(args{"nosuch", "a\r\nb", std::string(200, 'c')}) ==
        "ERR unknown command 'nosuch', with args beginning with: 'a  b' " +
            std::string(128 - 7, 'c').insert(0, "'") + "' ");
  CHECK(proxy::unknown_command_error(args{"x"}) ==
        "ERR unknown command 'x', with args beginning with: ");
  // Arguments after the first 128 bytes are not listed.
  CHECK(proxy::unknown_command_error(args{"x", std::string(130, 'a'), "b"}) ==
        "ERR unknown command 'x', with args beginning with: '" + std::string(128, 'a') + "' ");
}
