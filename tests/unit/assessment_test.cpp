#include "rsm/observe/assessment.hpp"
#include "rsm/observe/changes.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using namespace rsm::observe;

namespace {

address addr(int port) {
  return {"10.0.0.1", static_cast<std::uint16_t>(port)};
}

node_state master_node(int inst, int port) {
  node_state n;
  n.instance = inst;
  n.addr = addr(port);
  n.reachable = true;
  n.role.type = redis::role_info::kind::master;
  n.repl_offset = 1000;
  return n;
}

node_state replica_node(int inst, int port, int master_port) {
  node_state n;
  n.instance = inst;
  n.addr = addr(port);
  n.reachable = true;
  n.role.type = redis::role_info::kind::replica;
  n.role.master = addr(master_port);
  n.link_status = "up";
  n.last_io_seconds = 1;
  n.repl_offset = 990;
  return n;
}

sentinel_state sentinel_on(int inst, int master_port, long long epoch = 0) {
  sentinel_state s;
  s.instance = inst;
  s.addr = addr(26000 + inst);
  s.reachable = true;
  s.master = sentinel::master_view{};
  s.master->name = "master_service";
  s.master->addr = addr(master_port);
  s.master->flags = {"master"};
  s.master->config_epoch = epoch;
  s.quorum_ok = true;
  return s;
}

group_state healthy_group() {
  group_state g;
  g.master_name = "master_service";
  g.nodes = {master_node(1, 6379), replica_node(2, 6380, 6379), replica_node(3, 6381, 6379)};
  g.sentinels = {sentinel_on(1, 6379), sentinel_on(2, 6379), sentinel_on(3, 6379)};
  return g;
}

bool has_reason(const assessment& a, std::string_view part) {
  for (const auto& r : a.reasons) {
    if (r.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a healthy group", "[unit][assess]") {
  auto a = assess(healthy_group(), {});
  INFO(a.reasons.size());
  CHECK(a.level == health::healthy);
  CHECK(a.master == addr(6379));
  CHECK(a.master_instance == 1);
  CHECK(a.master_source == "sentinels");
  CHECK(a.sentinels_agreeing == 3);
  REQUIRE(a.lags.size() == 2);
  CHECK(a.lags[0].bytes == 10);
}

TEST_CASE("assessment rules one case each", "[unit][assess]") {
  struct rule_case {
    std::string name;
    std::function<void(group_state&)> change;
    health want;
    std::string reason;
  };
  std::vector<rule_case> table = {
      {"replica down",
       [](group_state& g) {
         g.nodes[2].reachable = false;
         g.nodes[2].error = "refused";
       },
       health::degraded, "redis 3 10.0.0.1:6381 unreachable: refused"},
      {"link down", [](group_state& g) { g.nodes[1].link_status = "down"; }, health::degraded,
       "replication link down"},
      {"lagging", [](group_state& g) { g.nodes[1].last_io_seconds = 60; }, health::degraded,
       "lags 60s"},
      {"second master", [](group_state& g) { g.nodes[2] = master_node(3, 6381); }, health::degraded,
       "second master"},
      {"a node of another group",
       [](group_state& g) {
         g.nodes[0].replication_id = std::string(40, 'a');
         g.nodes[2] = master_node(3, 6381);
         g.nodes[2].replication_id = std::string(40, 'f');
         g.nodes[2].keys = 5;
       },
       health::degraded, "redis 3 10.0.0.1:6381 holds 5 keys of another group"},
      {"wrong master", [](group_state& g) { g.nodes[2].role.master = addr(7000); },
       health::degraded, "replicates 10.0.0.1:7000"},
      {"sentinel down", [](group_state& g) { g.sentinels[2].reachable = false; }, health::degraded,
       "quorum at risk"},
      {"sentinel not monitoring", [](group_state& g) { g.sentinels[1].master.reset(); },
       health::degraded, "does not monitor master_service"},
      {"sentinels disagree", [](group_state& g) { g.sentinels[2] = sentinel_on(3, 6380, 0); },
       health::degraded, "sentinels disagree"},
      {"a newer config-epoch names a node that says replica",
       [](group_state& g) { g.sentinels[2] = sentinel_on(3, 6380, 5); }, health::down,
       "10.0.0.1:6380 answers ROLE replica"},
      {"ckquorum fails",
       [](group_state& g) {
         g.sentinels[0].quorum_ok = false;
         g.sentinels[0].quorum_text = "NOQUORUM";
       },
       health::degraded, "CKQUORUM: NOQUORUM"},
      {"failover running",
       [](group_state& g) { g.sentinels[0].master->flags.insert("failover_in_progress"); },
       health::degraded, "failover is in progress"},
      {"master unreachable",
       [](group_state& g) {
         g.nodes[0].reachable = false;
         g.nodes[0].error = "timed out";
       },
       health::down, "master 10.0.0.1:6379 unreachable: timed out"},
      {"master demoted", [](group_state& g) { g.nodes[0] = replica_node(1, 6379, 6380); },
       health::down, "answers ROLE replica"},
      {"nothing reachable",
       [](group_state& g) {
         for (auto& n : g.nodes) n.reachable = false;
         for (auto& s : g.sentinels) s.reachable = false;
       },
       health::down, "nothing reachable"},
      {"no sentinel and no master",
       [](group_state& g) {
         for (auto& s : g.sentinels) s.reachable = false;
         g.nodes[0].reachable = false;
       },
       health::down, "no master known"},
  };
  for (const auto& c : table) {
    INFO(c.name);
    auto g = healthy_group();
    c.change(g);
    auto a = assess(g, {});
    CHECK(a.level == c.want);
    CHECK(has_reason(a, c.reason));
  }
}

TEST_CASE("the newest config-epoch names the master and a majority decides within one",
          "[unit][assess]") {
  auto g = healthy_group();
  g.sentinels[2] = sentinel_on(3, 6380, 0);  // re-pointed by hand: starts over at epoch 0
  auto a = assess(g, {});
  CHECK(a.master == addr(6379));  // two of three within epoch 0
  CHECK(a.sentinels_agreeing == 2);
  CHECK(a.master_source == "sentinels");

  // A failover's leader at a newer epoch is ahead; the two naming 6379 are behind.
  g.sentinels[2] = sentinel_on(3, 6380, 9);
  a = assess(g, {});
  CHECK(a.master == addr(6380));
  CHECK(a.sentinels_agreeing == 1);
  CHECK(a.master_source == "sentinel-epoch");

  // Split 1:1 within one epoch (the third sentinel unreachable): nobody is the master.
  g.sentinels[2] = sentinel_on(3, 6380, 0);
  g.sentinels[1].reachable = false;
  a = assess(g, {});
  CHECK_FALSE(a.master);
  CHECK(has_reason(a, "split within config-epoch 0"));

  // No sentinel at all: the single node saying ROLE master.
  auto lone = healthy_group();
  for (auto& s : lone.sentinels) s.reachable = false;
  a = assess(lone, {});
  CHECK(a.master == addr(6379));
  CHECK(a.master_source == "role");
  CHECK(a.level == health::degraded);
}

TEST_CASE("changes between observations become watch lines", "[unit][watch]") {
  auto before = healthy_group();
  auto after = healthy_group();
  after.nodes[2].reachable = false;
  after.nodes[2].error = "refused";
  after.nodes[1].link_status = "down";
  after.sentinels[0].reachable = false;
  auto ba = assess(before, {});
  auto aa = assess(after, {});
  auto lines = compare(before, ba, after, aa, {});
  std::vector<std::string> kinds;
  for (const auto& l : lines) kinds.push_back(l.kind);
  CHECK(kinds == std::vector<std::string>{"link-down", "node-down", "sentinel-down", "health"});
  CHECK(lines[1].field("error") == "refused");
  CHECK(lines[3].field("to") == "degraded");
  CHECK(compare(before, ba, before, ba, {}).empty());

  auto back = compare(after, aa, before, ba, {});
  kinds.clear();
  for (const auto& l : back) kinds.push_back(l.kind);
  CHECK(kinds == std::vector<std::string>{"link-up", "node-up", "sentinel-up", "health"});

  auto promoted = healthy_group();
  promoted.nodes[1] = master_node(2, 6380);
  auto role = compare(before, ba, promoted, assess(promoted, {}), {});
  REQUIRE_FALSE(role.empty());
  CHECK(role[0].kind == "role-changed");
  CHECK(role[0].field("from") == "replica");
  CHECK(role[0].field("to") == "master");
}

TEST_CASE("discovery and sentinel events become watch lines", "[unit][watch]") {
  std::vector<topology::change> c = {
      {topology::change::kind::moved, topology::role::redis, 2, addr(6380), addr(6390)}};
  auto lines = from_discovery(c);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].kind == "instance-moved");
  CHECK(lines[0].field("from") == "10.0.0.1:6380");
  CHECK(lines[0].field("to") == "10.0.0.1:6390");

  auto sdown = from_sentinel(sentinel::parse_event("+sdown", "master master_service 10.0.0.1 6379"),
                             "master_service", addr(26379));
  REQUIRE(sdown);
  CHECK(sdown->kind == "sdown");
  CHECK(sdown->field("addr") == "10.0.0.1:6379");
  CHECK_FALSE(from_sentinel(sentinel::parse_event("+sdown", "master other 10.0.0.1 6379"),
                            "master_service", addr(26379)));
}
