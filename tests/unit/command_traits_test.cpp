// Which commands pin a session to a backend connection of its own (proxy/command_traits.hpp).
#include "rsm/proxy/command_traits.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

using namespace rsm;

namespace {

proxy::command_traits traits(std::string_view name, std::string_view arg = "") {
  resp::short_text n;
  n.append(name);
  resp::short_text a;
  a.append(arg);
  // As many arguments as the command takes (at least), so that its arity holds.
  std::size_t argc = arg.empty() ? 1 : 2;
  if (auto* c = proxy::command_table::builtin().find(name, arg)) {
    argc = std::max<std::size_t>(argc, static_cast<std::size_t>(std::abs(c->arity)));
  }
  return proxy::classify(n, a, argc);
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
  // HELLO and RESET change what the proxy holds: no connection of their own.
  CHECK(traits("HELLO", "3").hello);
  CHECK_FALSE(traits("HELLO", "3").pins);
  CHECK_FALSE(traits("HELLO", "3").sticky);
  CHECK(traits("RESET").resets);
  CHECK_FALSE(traits("RESET").pins);
  // Transactions.
  CHECK(traits("multi").starts_multi);
  CHECK(traits("MULTI").pins);
  CHECK(traits("WATCH", "k").watches);
  CHECK(traits("WATCH", "k").pins);
  CHECK(traits("EXEC").ends_multi);
  CHECK_FALSE(traits("EXEC").pins);
  CHECK(traits("DISCARD").ends_multi);
  CHECK(traits("UNWATCH").unwatches);
  // SELECT: shared connections per db; the db as Redis reads it (-1: Redis refuses it).
  for (auto db : {"0", "3", "15", "2147483647"}) {
    INFO(db);
    CHECK_FALSE(traits("SELECT", db).pins);
    CHECK(traits("SELECT", db).selects);
  }
  CHECK(traits("SELECT", "3").db == 3);
  CHECK(traits("SELECT", "2147483647").db == 2147483647);
  for (auto db : {"x", "01", "+1", " 1", "-1", "2147483648", "9223372036854775808", ""}) {
    INFO(db);
    CHECK(traits("SELECT", db).db == -1);
    CHECK_FALSE(traits("SELECT", db).pins);
  }
  {
    resp::short_text select;
    select.append("SELECT");
    auto t = proxy::classify(select, {}, 1);  // wrong arity: Redis answers it
    CHECK_FALSE(t.pins);
    CHECK(t.bad_arity);
  }
  // Every other known command is shared.
  for (auto name :
       {"GET", "SET", "INCR", "EVAL", "PUBLISH", "LPUSH", "BITCOUNT", "XADD", "PING", "ECHO"}) {
    INFO(name);
    auto t = traits(name);
    CHECK_FALSE(t.pins);
    CHECK_FALSE(t.unpairs);
    CHECK_FALSE(t.sticky);
    CHECK_FALSE(t.unknown);
  }
  // What rsm does not know may be a newer server's stateful or blocking command: it pins.
  for (auto name : {"BLPOPX", "WAITING", "CLIENTS", "SELECTED",
                    "a-very-long-command-name-that-is-nothing-at-all-and-longer-than-64-bytes"}) {
    INFO(name);
    auto t = traits(name);
    CHECK(t.unknown);
    CHECK(t.pins);
    CHECK(t.sticky);
  }
  CHECK(traits("CLIENT", "NO-SUCH-SUBCOMMAND").unknown);
  // CLIENT SETNAME, GETNAME, ID: held by the proxy.
  CHECK(traits("client", "setname").local);
  resp::short_text client, setname;
  client.append("CLIENT");
  setname.append("SETNAME");
  CHECK_FALSE(proxy::classify(client, setname, 2).local);  // wrong arity: Redis answers it
  CHECK(proxy::classify(client, setname, 2).bad_arity);
  CHECK(traits("CLIENT", "GETNAME").local);
  CHECK(traits("CLIENT", "id").local);
  // The commands Redis never answers never reach a shared connection.
  CHECK(traits("REPLCONF", "ACK").pins);
  CHECK(traits("REPLCONF", "ACK").unpairs);
}

TEST_CASE("command table: generated from Redis and joined with rsm's facts", "[unit][traits]") {
  const auto& t = proxy::command_table::builtin();
  CHECK(t.all().size() > 300);
  auto* get = t.find("get", "");
  REQUIRE(get);
  CHECK(get->arity == 2);
  CHECK(get->first_key == 1);
  CHECK(get->in_redis);
  auto* setname = t.find("Client", "SetName");
  REQUIRE(setname);
  CHECK(setname->name == "client|setname");
  CHECK(setname->display_name() == "CLIENT SETNAME");
  CHECK(setname->what == proxy::effect::setname);
  // A container's facts cover its subcommands: every CLUSTER subcommand is refused.
  auto* cluster_info = t.find("cluster", "info");
  REQUIRE(cluster_info);
  CHECK(cluster_info->how == proxy::route::refuse);
  CHECK(t.find("cluster", "no-such-thing") != nullptr);
  // Only rsm's facts name CLIENT SETINFO (Redis 7.2): known, forwarded on the shared connection.
  auto* setinfo = t.find("client", "setinfo");
  REQUIRE(setinfo);
  CHECK_FALSE(setinfo->in_redis);
  CHECK(setinfo->how == proxy::route::shared);
  // Malformed files are refused with the line.
  CHECK_THROWS_WITH(proxy::command_table::parse("get\t2\n", ""), Catch::Contains("line 1"));
  CHECK_THROWS_WITH(proxy::command_table::parse("", "get bogus one - x\n"),
                    Catch::Contains("line 1"));
}
