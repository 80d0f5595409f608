#include "rsm/proxy/policy.hpp"

#include <catch2/catch.hpp>

using namespace rsm::proxy;

TEST_CASE("the proxy refuses commands that would break the managed group", "[unit][policy]") {
  policy p;
  for (auto [name, arg] :
       std::vector<std::pair<std::string, std::string>>{{"replicaof", "no"},
                                                        {"SLAVEOF", "x"},
                                                        {"shutdown", ""},
                                                        {"FAILOVER", ""},
                                                        {"debug", "sleep"},
                                                        {"config", "set"},
                                                        {"CONFIG", "rewrite"},
                                                        {"config", "resetstat"},
                                                        {"cluster", "info"},
                                                        {"SYNC", ""},
                                                        {"psync", "?"},
                                                        {"module", "load"},
                                                        {"acl", "setuser"},
                                                        {"ACL", "deluser"},
                                                        {"sentinel", "masters"},
                                                        // beyond the client's own connection
                                                        {"REPLCONF", "ack"},
                                                        {"client", "kill"},
                                                        {"CLIENT", "PAUSE"},
                                                        {"client", "unpause"},
                                                        {"client", "unblock"},
                                                        {"migrate", "h"},
                                                        {"acl", "getuser"},
                                                        {"ACL", "list"}}) {
    INFO(name << " " << arg);
    auto r = p.refusal(name, arg);
    REQUIRE(r);
    CHECK(r->rfind("ERR command '", 0) == 0);
  }
  for (auto [name, arg] : std::vector<std::pair<std::string, std::string>>{{"GET", "k"},
                                                                           {"config", "get"},
                                                                           {"acl", "whoami"},
                                                                           {"client", "setname"},
                                                                           {"client", "list"},
                                                                           {"acl", "whoami"},
                                                                           {"INFO", ""},
                                                                           {"SET", "k"},
                                                                           {"scan", "0"},
                                                                           {"Debugx", ""},
                                                                           {"S", ""}}) {
    INFO(name << " " << arg);
    CHECK_FALSE(p.refusal(name, arg));
  }
  CHECK(*p.refusal("config", "set") ==
        "ERR command 'CONFIG SET' is refused by the rsm proxy: it would change the group that rsm "
        "and Sentinel manage, or reach beyond this client's own connection (allow it with "
        "--allow-command)");
}

TEST_CASE("allow and deny lists adjust the policy", "[unit][policy]") {
  policy p(parse_command_list("config set, Debug"), parse_command_list("FLUSHALL,keys"));
  CHECK_FALSE(p.refusal("CONFIG", "SET"));
  CHECK(p.refusal("CONFIG", "REWRITE"));
  CHECK_FALSE(p.refusal("debug", "sleep"));
  CHECK(p.refusal("flushall", ""));
  CHECK(p.refusal("KEYS", "*"));
  policy whole(parse_command_list("CONFIG"), {});
  CHECK_FALSE(whole.refusal("config", "rewrite"));
  CHECK(parse_command_list(" a , ,B c") == std::vector<std::string>{"A", "B C"});
}
