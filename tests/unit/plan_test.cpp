// The controller's rules, one table case (or more) each. Pure: no servers.
#include "rsm/ctl/plan.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using namespace rsm::ctl;
using namespace std::chrono_literals;
using kind = action::kind;

namespace {

address at(int port) {
  return {"10.0.0.1", static_cast<std::uint16_t>(port)};
}

observe::node_state master_node(int inst, long long keys = 10, long long offset = 1000) {
  observe::node_state n;
  n.instance = inst;
  n.addr = at(6378 + inst);
  n.reachable = true;
  n.role.type = redis::role_info::kind::master;
  n.keys = keys;
  n.repl_offset = offset;
  n.run_id = "run-" + std::to_string(inst);
  n.replication_id = std::string(40, 'a');  // one group: one history
  n.has_functions = true;
  n.group_marker = "g1";
  return n;
}

observe::node_state replica_node(int inst, int master_inst, long long keys = 10,
                                 long long offset = 1000) {
  auto n = master_node(inst, keys, offset);
  n.role.type = redis::role_info::kind::replica;
  n.role.master = at(6378 + master_inst);
  n.link_status = "up";
  return n;
}

observe::sentinel_state sentinel_on(int inst, std::optional<int> master_inst) {
  observe::sentinel_state s;
  s.instance = inst;
  s.addr = at(26378 + inst);
  s.reachable = true;
  if (master_inst) {
    s.master = sentinel::master_view{};
    s.master->name = "master_service";
    s.master->addr = at(6378 + *master_inst);
    s.master->flags = {"master"};
  }
  s.quorum_ok = true;
  return s;
}

struct world {
  plan_input in;
  memory mem;
  config cfg;

  world() {
    in.discovery_ok = true;
    for (int i = 1; i <= 3; ++i) {
      in.discovered.redis[i] = at(6378 + i);
      in.discovered.sentinels[i] = at(26378 + i);
    }
    in.observed.master_name = "master_service";
    in.now = std::chrono::steady_clock::now();
  }
  void healthy() {
    in.observed.nodes = {master_node(1), replica_node(2, 1), replica_node(3, 1)};
    in.observed.nodes[0].connected_replicas = 2;
    in.observed.sentinels = {sentinel_on(1, 1), sentinel_on(2, 1), sentinel_on(3, 1)};
  }
  plan_result run() const { return plan(in, cfg, mem); }
};

std::vector<std::string> described(const plan_result& p) {
  std::vector<std::string> out;
  for (const auto& a : p.actions) out.push_back(a.describe());
  return out;
}

bool has_note(const plan_result& p, std::string_view part) {
  for (const auto& n : p.notes) {
    if (n.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("plan: a healthy group needs nothing", "[unit][plan]") {
  world w;
  w.healthy();
  auto p = w.run();
  CHECK(p.actions.empty());
  CHECK(p.rule.empty());
  CHECK(p.master == at(6379));
}

TEST_CASE("plan: a fresh group gets a master chosen by data and sentinels registered",
          "[unit][plan]") {
  world w;
  w.in.observed.nodes = {master_node(1, 0, 0), master_node(2, 0, 0), master_node(3, 0, 0)};
  w.in.observed.sentinels = {sentinel_on(1, {}), sentinel_on(2, {}), sentinel_on(3, {})};
  auto p = w.run();
  CHECK(p.rule == "b");
  CHECK(p.master == at(6379));  // all equal: the lowest InstanceNo
  CHECK(described(p) ==
        std::vector<std::string>{"replicaof redis 2 10.0.0.1:6380 -> 10.0.0.1:6379",
                                 "replicaof redis 3 10.0.0.1:6381 -> 10.0.0.1:6379",
                                 "monitor on sentinel 1 10.0.0.1:26379 -> 10.0.0.1:6379 quorum 2",
                                 "monitor on sentinel 2 10.0.0.1:26380 -> 10.0.0.1:6379 quorum 2",
                                 "monitor on sentinel 3 10.0.0.1:26381 -> 10.0.0.1:6379 quorum 2"});
  CHECK(p.actions[0].reason.find("fresh group") != std::string::npos);
}

TEST_CASE("plan: all nodes restarted with data only on instance 2 makes 2 the master",
          "[unit][plan]") {
  world w;
  w.in.observed.nodes = {master_node(1, 0, 0), master_node(2, 500, 0), master_node(3, 0, 0)};
  w.in.observed.sentinels = {sentinel_on(1, {}), sentinel_on(2, {}), sentinel_on(3, {})};
  auto p = w.run();
  CHECK(p.rule == "b");
  CHECK(p.master == at(6380));
  REQUIRE(p.actions.size() == 5);
  CHECK(p.actions[0].describe() == "replicaof redis 1 10.0.0.1:6379 -> 10.0.0.1:6380");
  // A fresh group waits for every node before choosing.
  w.in.observed.nodes[0].reachable = false;
  auto wait = w.run();
  CHECK(wait.actions.empty());
  CHECK(has_note(wait, "waiting for every node"));
}

namespace {
// Three standalone nodes, each of its own replication history (a fresh redis-server's random
// replid) unless a case says otherwise.
world fresh(std::vector<observe::node_state> nodes) {
  world w;
  for (auto& n : nodes) n.replication_id = "history-of-" + std::to_string(n.instance);
  w.in.observed.nodes = std::move(nodes);
  w.in.observed.sentinels = {sentinel_on(1, {}), sentinel_on(2, {}), sentinel_on(3, {})};
  return w;
}
}  // namespace

TEST_CASE("plan: a fresh group's master is chosen by data, offsets compared within one history",
          "[unit][plan]") {
  SECTION("a long history emptied by FLUSHALL loses to keys of another history") {
    // Issue 16's case: A has offset 40652 but 0 keys, B 500 keys and no history, C nothing.
    // Comparing offsets across histories made B a replica of A and wiped its keys.
    auto w = fresh({master_node(1, 0, 40652), master_node(2, 500, 0), master_node(3, 0, 0)});
    auto p = w.run();
    CHECK(p.master == at(6380));
    CHECK_FALSE(p.needs_operator);
    CHECK(described(p)[0] == "replicaof redis 1 10.0.0.1:6379 -> 10.0.0.1:6380");
  }
  SECTION("within one history the higher offset wins, keys or not (the FLUSHALL came later)") {
    auto w = fresh({master_node(1, 0, 9000), master_node(2, 500, 100), master_node(3, 0, 0)});
    w.in.observed.nodes[1].replication_id = w.in.observed.nodes[0].replication_id;
    CHECK(w.run().master == at(6379));
  }
  SECTION("a promoted replica's previous id joins it to its old master's history") {
    auto w = fresh({master_node(1, 10, 500), master_node(2, 10, 900), master_node(3, 0, 0)});
    w.in.observed.nodes[1].replication_id2 = w.in.observed.nodes[0].replication_id;
    CHECK(w.run().master == at(6380));
    // An id of zeros is no id: it joins nothing.
    w.in.observed.nodes[0].replication_id = std::string(40, '0');
    w.in.observed.nodes[1].replication_id2 = std::string(40, '0');
    auto p = w.run();
    CHECK(p.actions.empty());
    CHECK(p.needs_operator);
  }
  SECTION("keys in two unrelated histories: nothing is chosen, and the plan says why") {
    auto w = fresh({master_node(1, 300, 40652), master_node(2, 500, 0), master_node(3, 0, 0)});
    auto p = w.run();
    CHECK(p.rule == "b");
    CHECK(p.actions.empty());
    CHECK_FALSE(p.master);
    CHECK(p.needs_operator);
    CHECK(has_note(p, "data in 2 unrelated replication histories"));
    CHECK(has_note(p, "redis 1 10.0.0.1:6379"));
    CHECK(has_note(p, "redis 2 10.0.0.1:6380"));
    CHECK(has_note(p, "--choose-master HOST:PORT"));
    // The operator's choice decides.
    w.in.chosen_master = at(6379);
    auto chosen = w.run();
    CHECK(chosen.master == at(6379));
    CHECK_FALSE(chosen.needs_operator);
    CHECK(has_note(chosen, "chosen by the operator"));
    CHECK(described(chosen)[0] == "replicaof redis 2 10.0.0.1:6380 -> 10.0.0.1:6379");
    // A choice that is no node of the group is refused.
    w.in.chosen_master = at(7000);
    auto bad = w.run();
    CHECK(bad.actions.empty());
    CHECK(bad.needs_operator);
    CHECK(has_note(bad, "not a discovered node"));
  }
  SECTION("no keys anywhere: the highest offset, then the lowest InstanceNo") {
    auto w = fresh({master_node(1, 0, 0), master_node(2, 0, 0), master_node(3, 0, 70)});
    CHECK(w.run().master == at(6381));
    w.in.observed.nodes[2].repl_offset = 0;
    CHECK(w.run().master == at(6379));
  }
}

TEST_CASE("plan: split brain with two masters demotes the one the sentinels do not name",
          "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[0].replication_id = std::string(40, 'a');
  w.in.observed.nodes[2] = master_node(3, 42, 77);
  // Promoted by hand from a replica of redis 1: a new id, redis 1's as its previous one.
  w.in.observed.nodes[2].replication_id = std::string(40, 'c');
  w.in.observed.nodes[2].replication_id2 = std::string(40, 'a');
  auto p = w.run();
  CHECK(p.rule == "e");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].describe() == "replicaof redis 3 10.0.0.1:6381 -> 10.0.0.1:6379");
  CHECK(p.actions[0].reason.find("second master") != std::string::npos);
  CHECK(p.actions[0].reason.find("offset 77, 42 keys") != std::string::npos);
}

TEST_CASE("plan: a second master of another history holding more keys is never demoted",
          "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[0].replication_id = std::string(40, 'a');
  w.in.observed.nodes[2] = master_node(3, 500, 77);  // the master has 10 keys
  w.in.observed.nodes[2].replication_id = std::string(40, 'f');
  auto p = w.run();
  CHECK(p.actions.empty());
  CHECK(p.needs_operator);
  CHECK(has_note(p,
                 "second master 10.0.0.1:6381 holds offset 77, 500 keys of another "
                 "replication history, more than the master 10.0.0.1:6379"));
  // Fewer keys than the master: demoted as any second master.
  w.in.observed.nodes[2].keys = 3;
  p = w.run();
  CHECK_FALSE(p.needs_operator);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].describe() == "replicaof redis 3 10.0.0.1:6381 -> 10.0.0.1:6379");
  // The same history with more keys (it took writes in a split brain): Sentinel's rule, the
  // sentinels' master wins.
  w.in.observed.nodes[2].keys = 500;
  w.in.observed.nodes[2].replication_id2 = std::string(40, 'a');
  p = w.run();
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::replicaof);
}

TEST_CASE("plan: a node of another group is left alone and the marker tells ours apart",
          "[unit][plan]") {
  world w;
  w.healthy();
  // A standalone node with data of its own (a reused address, the wrong app in discovery).
  auto stranger = master_node(3, 5, 900);
  stranger.replication_id = std::string(40, 'f');
  stranger.group_marker.clear();
  w.in.observed.nodes[2] = stranger;
  auto p = w.run();
  CHECK(p.actions.empty());
  CHECK(p.foreign == std::vector<address>{at(6381)});
  CHECK(has_note(p,
                 "redis 3 10.0.0.1:6381 is not of this group (offset 900, 5 keys, no "
                 "replication history shared with the master, no marker rsm_group_g1): left "
                 "alone"));
  // The same as a replica of some other master: left alone too (no REPLICAOF over its data).
  w.in.observed.nodes[2] = replica_node(3, 9, 5, 900);
  w.in.observed.nodes[2].replication_id = std::string(40, 'f');
  w.in.observed.nodes[2].group_marker = "g7";
  p = w.run();
  CHECK(p.actions.empty());
  CHECK(p.foreign.size() == 1);
  // Replica safety settings are not pushed to it either.
  w.cfg.min_replicas_to_write = 1;
  p = w.run();
  for (const auto& a : p.actions) CHECK(a.target != at(6381));

  // Our old master, restarted from its RDB as a master: a new replication id, but our marker.
  world o;
  o.healthy();
  o.in.observed.nodes[2] = master_node(3, 5, 0);
  o.in.observed.nodes[2].replication_id = std::string(40, 'e');
  p = o.run();
  CHECK(p.foreign.empty());
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].describe() == "replicaof redis 3 10.0.0.1:6381 -> 10.0.0.1:6379");

  // An empty node is never foreign: a sync loses nothing.
  o.in.observed.nodes[2].group_marker.clear();
  o.in.observed.nodes[2].keys = 0;
  p = o.run();
  CHECK(p.foreign.empty());
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::replicaof);
}

TEST_CASE("plan: a master without the group marker gets one when all else is in order",
          "[unit][plan]") {
  world w;
  w.healthy();
  w.in.new_group_id = "n3w";
  for (auto& n : w.in.observed.nodes) n.group_marker.clear();
  auto p = w.run();
  CHECK(p.rule == "j");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].describe() == "mark-group redis 1 10.0.0.1:6379 rsm_group_n3w");
  CHECK(p.actions[0].master == at(6379));  // its ROLE is re-checked before
  // Not while anything else needs doing, nor on a Redis without functions.
  w.in.observed.nodes[2].role.master = at(7000);
  p = w.run();
  CHECK(p.rule == "e");
  for (const auto& a : p.actions) CHECK(a.what != kind::mark_group);
  w.healthy();
  for (auto& n : w.in.observed.nodes) {
    n.group_marker.clear();
    n.has_functions = false;
  }
  CHECK(w.run().actions.empty());
  // A marked master needs nothing, and --no-group-marker marks none.
  w.healthy();
  CHECK(w.run().actions.empty());
  for (auto& n : w.in.observed.nodes) n.group_marker.clear();
  w.cfg.group_marker = false;
  CHECK(w.run().actions.empty());
}

TEST_CASE("plan: a replica following the wrong master is pointed back", "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[1].role.master = at(7000);
  auto p = w.run();
  CHECK(p.rule == "e");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::replicaof);
  CHECK(p.actions[0].master == at(6379));
  CHECK(p.actions[0].reason.find("replica of 10.0.0.1:7000") != std::string::npos);
}

TEST_CASE("plan: a sentinel without the monitor is registered", "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.sentinels[1] = sentinel_on(2, {});
  auto p = w.run();
  CHECK(p.rule == "d");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::sentinel_monitor);
  CHECK_FALSE(p.actions[0].remove_first);
  CHECK(p.actions[0].target == at(26380));
  CHECK(p.actions[0].quorum == 2);
  // All sentinels lost their configuration, the nodes still replicate: the one master.
  world all;
  all.healthy();
  all.in.observed.sentinels = {sentinel_on(1, {}), sentinel_on(2, {}), sentinel_on(3, {})};
  auto q = all.run();
  CHECK(q.rule == "d");
  CHECK(q.actions.size() == 3);
  CHECK(q.master == at(6379));
}

TEST_CASE("plan: a sentinel on the wrong master is moved with REMOVE first", "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.sentinels[2] = sentinel_on(3, 2);
  auto p = w.run();
  CHECK(p.rule == "d");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].remove_first);
  CHECK(p.actions[0].describe() ==
        "re-monitor on sentinel 3 10.0.0.1:26381 -> 10.0.0.1:6379 quorum 2");
}

TEST_CASE("plan: the agreed master comes from the one election", "[unit][plan]") {
  // After a failover to redis 2: its leader names 2 at config-epoch 7, two sentinels are still
  // behind on 1 (epoch 6), and 1 has already been turned into 2's replica.
  world w;
  w.in.observed.nodes = {replica_node(1, 2), master_node(2), replica_node(3, 2)};
  w.in.observed.nodes[1].connected_replicas = 2;
  w.in.observed.sentinels = {sentinel_on(1, 1), sentinel_on(2, 1), sentinel_on(3, 2)};
  w.in.observed.sentinels[0].master->config_epoch = 6;
  w.in.observed.sentinels[1].master->config_epoch = 6;
  w.in.observed.sentinels[2].master->config_epoch = 7;
  auto p = w.run();
  CHECK(p.master == at(6380));
  CHECK(p.actions.empty());  // the two behind are not re-pointed: Sentinel's hellos do that
  CHECK(has_note(p, "the highest config-epoch 7 names it (1 of 3 sentinels)"));

  // Once a majority names 2, a sentinel left on 1 is re-pointed.
  w.in.observed.sentinels[1] = sentinel_on(2, 2);
  w.in.observed.sentinels[1].master->config_epoch = 7;
  p = w.run();
  CHECK(p.rule == "d");
  CHECK(described(p) == std::vector<std::string>{
                            "re-monitor on sentinel 1 10.0.0.1:26379 -> 10.0.0.1:6380 quorum 2"});

  // A newer epoch naming a node that says replica is no master: rule h leaves it to Sentinel
  // while a node still says master.
  world v;
  v.healthy();
  v.in.observed.sentinels[2] = sentinel_on(3, 2);
  v.in.observed.sentinels[2].master->config_epoch = 3;
  p = v.run();
  CHECK(p.rule == "h");
  CHECK(p.actions.empty());
  CHECK(has_note(p, "the sentinels name 10.0.0.1:6380 (1 of 3)"));
  CHECK(has_note(p, "does not say ROLE master"));

  // Split 1:1 within one epoch (the third sentinel down): the previous pass's master stays,
  // and the other sentinel is not re-pointed without a majority.
  world s;
  s.healthy();
  s.in.observed.nodes[1] = master_node(2);
  s.in.observed.sentinels[1] = sentinel_on(2, 2);
  s.in.observed.sentinels[2].reachable = false;
  s.mem.master = at(6379);
  p = s.run();
  CHECK(p.master == at(6379));
  CHECK(p.actions.empty());  // neither node 2 demoted nor sentinel 2 re-pointed
  CHECK(has_note(p, "no action until a majority names it"));
  s.mem.master.reset();
  p = s.run();
  CHECK(p.rule == "h");
  CHECK(has_note(p, "split within config-epoch 0"));
}

TEST_CASE("plan: stale sentinel entries after an IP change are reset one sentinel at a time",
          "[unit][plan]") {
  world w;
  w.healthy();
  // Instance 2 moved to port 6390: discovery knows the new address; the sentinels still list
  // the old one.
  w.in.discovered.redis[2] = at(6390);
  w.in.observed.nodes[1].addr = at(6390);
  for (auto& s : w.in.observed.sentinels) {
    s.replicas = {{{"ip", "10.0.0.1"}, {"port", "6380"}, {"flags", "slave,s_down"}},
                  {{"ip", "10.0.0.1"}, {"port", "6390"}, {"flags", "slave"}},
                  {{"ip", "10.0.0.1"}, {"port", "6381"}, {"flags", "slave"}}};
  }
  auto p = w.run();
  CHECK(p.rule == "f");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::sentinel_reset);
  CHECK(p.actions[0].target == at(26379));
  CHECK(p.actions[0].reason.find("replica 10.0.0.1:6380") != std::string::npos);
  // Never while something else needs repair first.
  w.in.observed.nodes[2].role.master = at(7000);
  auto q = w.run();
  CHECK(q.rule == "e");
  CHECK(q.actions.size() == 1);
  CHECK(q.actions[0].what == kind::replicaof);
}

TEST_CASE("plan: an empty restarted master while a replica holds data means failover",
          "[unit][plan]") {
  world w;
  w.healthy();
  w.mem.master = at(6379);
  w.mem.master_run_id = "run-1";
  w.in.observed.nodes[0].run_id = "run-1-restarted";
  w.in.observed.nodes[0].keys = 0;
  auto p = w.run();
  CHECK(p.rule == "g");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].what == kind::sentinel_failover);
  CHECK(p.actions[0].reason.find("restarted empty") != std::string::npos);
  // The same run_id (no restart) or a master that kept its data: no failover.
  w.in.observed.nodes[0].run_id = "run-1";
  CHECK(w.run().actions.empty());
  w.in.observed.nodes[0].run_id = "run-1-restarted";
  w.in.observed.nodes[0].keys = 3;
  CHECK(w.run().actions.empty());
}

TEST_CASE("plan: an incomplete picture means no action", "[unit][plan]") {
  struct incomplete {
    std::string name;
    std::function<void(world&)> change;
    std::string note;
  };
  std::vector<incomplete> table = {
      {"no discovery", [](world& w) { w.in.discovery_ok = false; }, "discovery has not answered"},
      {"one redis",
       [](world& w) {
         w.in.discovered.redis.erase(2);
         w.in.discovered.redis.erase(3);
       },
       "fewer than 2 redis nodes"},
      {"no sentinel", [](world& w) { w.in.discovered.sentinels.clear(); }, "no sentinel"},
      {"most sentinels unreachable",
       [](world& w) {
         w.in.observed.sentinels[0].reachable = false;
         w.in.observed.sentinels[1].reachable = false;
       },
       "only 1 of 3 sentinels reachable"},
  };
  for (const auto& c : table) {
    INFO(c.name);
    world w;
    w.healthy();
    w.in.observed.nodes[2] = master_node(3);  // something to repair, were the picture complete
    c.change(w);
    auto p = w.run();
    CHECK(p.rule == "a");
    CHECK(p.actions.empty());
    CHECK(has_note(p, c.note));
  }
}

TEST_CASE("plan: a failover in progress means no action", "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[2] = master_node(3);
  w.in.observed.sentinels[0].master->flags.insert("failover_in_progress");
  auto p = w.run();
  CHECK(p.rule == "c");
  CHECK(p.actions.empty());
  CHECK(has_note(p, "failover is in progress"));
}

TEST_CASE("plan: no master for longer than failover-timeout promotes the replica with data",
          "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[0].reachable = false;
  w.in.observed.nodes[1].keys = 0;  // empty, but a higher offset
  w.in.observed.nodes[1].repl_offset = 5000;
  w.in.observed.nodes[2].keys = 100;
  w.cfg.failover_timeout = 3min;
  // Not yet: Sentinel gets its failover-timeout first.
  w.mem.masterless_since = w.in.now - 1min;
  auto wait = w.run();
  CHECK(wait.rule == "h");
  CHECK(wait.actions.empty());
  CHECK(has_note(wait, "waiting for Sentinel"));
  // Past it: promote the replica holding data, never the empty one, and repoint the sentinels.
  w.mem.masterless_since = w.in.now - 4min;
  auto p = w.run();
  CHECK(p.rule == "h");
  REQUIRE(p.actions.size() == 4);
  CHECK(p.actions[0].describe() == "promote redis 3 10.0.0.1:6381");
  CHECK(p.actions[1].what == kind::sentinel_monitor);
  CHECK(p.actions[1].remove_first);
  CHECK(p.actions[1].master == at(6381));
  w.cfg.no_promote = true;
  auto off = w.run();
  CHECK(off.actions.empty());
  CHECK(has_note(off, "--no-promote"));
}

TEST_CASE("plan: a master that discovery omits but the sentinels name is never replaced",
          "[unit][plan]") {
  // lainlet lists only redis 2 and 3; the sentinels name redis 1, which still serves.
  world w;
  w.healthy();
  w.in.discovered.redis.erase(1);
  w.in.observed.nodes.erase(w.in.observed.nodes.begin());
  w.cfg.failover_timeout = 3min;
  w.mem.masterless_since = w.in.now - 4min;
  w.in.named_undiscovered = master_node(1);
  w.in.named_undiscovered->instance = 0;
  auto p = w.run();
  CHECK(p.rule == "h");
  CHECK(p.actions.empty());
  CHECK(has_note(p,
                 "the sentinels name 10.0.0.1:6379, which discovery does not list, and it "
                 "answers ROLE master"));
  // Asked and not answering (or answering replica): the promotion goes ahead as before.
  w.in.named_undiscovered->reachable = false;
  p = w.run();
  REQUIRE_FALSE(p.actions.empty());
  CHECK(p.actions[0].what == kind::promote);
  w.in.named_undiscovered = replica_node(1, 2);
  p = w.run();
  REQUIRE_FALSE(p.actions.empty());
  CHECK(p.actions[0].what == kind::promote);
}

TEST_CASE("plan: replica safety settings are applied where they differ", "[unit][plan]") {
  world w;
  w.healthy();
  w.cfg.min_replicas_to_write = 1;
  w.cfg.min_replicas_max_lag = 10s;
  for (auto& n : w.in.observed.nodes)
    n.config = {{"min-replicas-to-write", "1"}, {"min-replicas-max-lag", "10"}};
  w.in.observed.nodes[1].config["min-replicas-to-write"] = "0";
  auto p = w.run();
  CHECK(p.rule == "i");
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].describe() == "config-set redis 2 10.0.0.1:6380 min-replicas-to-write 1");
}

TEST_CASE("plan: anti-flap holds back an action repeated too soon", "[unit][plan]") {
  world w;
  w.healthy();
  w.in.observed.nodes[2] = master_node(3);
  auto first = w.run();
  REQUIRE(first.actions.size() == 1);
  remember(w.mem, w.in, first, first.actions);
  auto again = w.run();
  CHECK(again.actions.empty());
  CHECK(has_note(again, "held back (anti-flap"));
  w.in.now += w.cfg.flap_window + 1s;
  CHECK(w.run().actions.size() == 1);
}

TEST_CASE("plan: memory tracks the master and masterless time", "[unit][plan]") {
  world w;
  w.healthy();
  auto p = w.run();
  remember(w.mem, w.in, p, {});
  CHECK(w.mem.master == at(6379));
  CHECK(w.mem.master_run_id == "run-1");
  CHECK_FALSE(w.mem.masterless_since);
  for (auto& n : w.in.observed.nodes) n.role.type = redis::role_info::kind::replica;
  remember(w.mem, w.in, w.run(), {});
  CHECK(w.mem.masterless_since == w.in.now);
}
