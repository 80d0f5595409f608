// Which commands pin a session to a backend connection of its own (proxy/command_traits.hpp).
#include "rsm/proxy/command_traits.hpp"

#include <catch2/catch.hpp>

using namespace rsm;

namespace {

proxy::command_traits traits(std::string_view name, std::string_view arg = "") {
  resp::short_text n;
  n.append(name);
  resp::short_text a;
  a.append(arg);
  return proxy::classify(n, a);
}

}  // namespace

TEST_CASE("command traits: what pins and what stays on the shared connection", "[unit][traits]") {
  // Blocking commands, any case.
  for (auto name : {"BLPOP", "brpop", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "bzpopmax",
                    "BZMPOP", "XREAD", "XREADGROUP", "WAIT", "WAITAOF"}) {
    INFO(name);
    auto t = traits(name);
    CHECK(t.pins);
    CHECK_FALSE(t.unpairs);
    CHECK_FALSE(t.sticky);
  }
  // Subscriptions: pinned, replies stop pairing, and the state stays on the connection.
  for (auto name :
       {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}) {
    INFO(name);
    auto t = traits(name);
    CHECK(t.pins);
    CHECK(t.unpairs);
    CHECK(t.sticky);
  }
  CHECK(traits("MONITOR").unpairs);
  CHECK(traits("client", "reply").unpairs);
  CHECK_FALSE(traits("CLIENT", "SETNAME").unpairs);
  CHECK(traits("CLIENT", "TRACKING").sticky);
  CHECK(traits("HELLO", "3").pins);
  CHECK(traits("RESET").sticky);
  // Transactions.
  CHECK(traits("multi").starts_multi);
  CHECK(traits("MULTI").pins);
  CHECK(traits("WATCH", "k").watches);
  CHECK(traits("WATCH", "k").pins);
  CHECK(traits("EXEC").ends_multi);
  CHECK_FALSE(traits("EXEC").pins);
  CHECK(traits("DISCARD").ends_multi);
  CHECK(traits("UNWATCH").unwatches);
  // SELECT: db 0 is the shared connections' db.
  CHECK_FALSE(traits("SELECT", "0").pins);
  CHECK(traits("SELECT", "0").selects);
  CHECK(traits("SELECT", "3").pins);
  CHECK(traits("SELECT", "3").db == 3);
  CHECK(traits("SELECT", "x").db == -1);
  CHECK(traits("SELECT", "x").pins);
  CHECK(traits("SELECT").pins);
  // Everything else is shared.
  for (auto name :
       {"GET", "SET", "INCR", "EVAL", "PUBLISH", "LPUSH", "BITCOUNT", "XADD", "PING", "ECHO",
        "BLPOPX", "WAITING", "CLIENTS", "SELECTED", "a-very-long-command-name-that-is-nothing"}) {
    INFO(name);
    auto t = traits(name);
    CHECK_FALSE(t.pins);
    CHECK_FALSE(t.unpairs);
    CHECK_FALSE(t.sticky);
  }
}
