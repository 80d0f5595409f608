#include "rsm/observe/observer.hpp"

#include "rsm/net/gather.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace rsm::observe {

bool same_history(const node_state& a, const node_state& b) {
  auto known = [](const std::string& id) {
    return !id.empty() && id.find_first_not_of('0') != std::string::npos;
  };
  if (!known(a.replication_id) || !known(b.replication_id)) return false;
  return a.replication_id == b.replication_id ||
         (known(a.replication_id2) && a.replication_id2 == b.replication_id) ||
         (known(b.replication_id2) && b.replication_id2 == a.replication_id);
}

std::string group_marker_library(std::string_view id) {
  return std::string(k_group_library_prefix) + std::string(id);
}

std::string group_marker_code(std::string_view id) {
  auto name = group_marker_library(id);
  return "#!lua name=" + name + "\nredis.register_function{function_name='" + name +
         "', callback=function() return '" + std::string(id) + "' end, flags={'no-writes'}}";
}

std::string group_marker_in(const resp::reply& function_list) {
  if (!function_list.is_array()) return {};
  for (const auto& lib : function_list.elements) {
    const auto& f = lib.elements;  // library_name, NAME, engine, ..., as a flat map
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str == "library_name" && f[i + 1].str.starts_with(k_group_library_prefix))
        return f[i + 1].str.substr(k_group_library_prefix.size());
    }
  }
  return {};
}

bool foreign_to(const node_state& n, const node_state& master) {
  if (n.keys == 0 || same_history(n, master)) return false;
  return master.group_marker.empty() || n.group_marker != master.group_marker;
}

sentinel::election election_of(const group_state& g, int known, std::optional<address> incumbent) {
  sentinel::election e;
  e.known = known > 0 ? known : static_cast<int>(g.sentinels.size());
  e.incumbent = std::move(incumbent);
  for (const auto& s : g.sentinels) {
    if (!s.reachable) continue;
    sentinel::ballot b;
    if (s.master) {
      b.names = s.master->addr;
      b.config_epoch = s.master->config_epoch;
    }
    e.ballots.push_back(std::move(b));
  }
  for (const auto& n : g.nodes) {
    if (!n.reachable) continue;
    e.roles[n.addr] = n.role.is_master() ? sentinel::role_seen::master
                      : n.loading        ? sentinel::role_seen::busy
                                         : sentinel::role_seen::not_master;
  }
  return e;
}

const node_state* group_state::node_at(const address& a) const {
  for (const auto& n : nodes) {
    if (n.addr == a) return &n;
  }
  return nullptr;
}

const node_state* group_state::node(int instance) const {
  for (const auto& n : nodes) {
    if (n.instance == instance) return &n;
  }
  return nullptr;
}

void apply_node_replies(node_state& n, const resp::reply& role, const resp::reply& info) {
  auto r = redis::parse_role(role);
  if (!r) {
    n.reachable = false;
    n.error = r.error().message();
    return;
  }
  if (info.is_error() || !info.is_text()) {
    n.reachable = false;
    n.error = "INFO: " + info.to_debug_string();
    return;
  }
  n.reachable = true;
  n.role = *r;
  n.info = redis::parse_info(info.str);
  const auto& i = n.info;
  n.run_id = std::string(i.get("server", "run_id").value_or(""));
  n.replication_id = std::string(i.get("replication", "master_replid").value_or(""));
  n.replication_id2 = std::string(i.get("replication", "master_replid2").value_or(""));
  if (n.role.is_replica()) {
    n.repl_offset = i.get_int("replication", "slave_repl_offset").value_or(n.role.offset);
    n.link_status = std::string(i.get("replication", "master_link_status").value_or(""));
    n.last_io_seconds = i.get_int("replication", "master_last_io_seconds_ago").value_or(-1);
    n.sync_in_progress = i.get_int("replication", "master_sync_in_progress").value_or(0) != 0;
  } else {
    n.repl_offset = i.get_int("replication", "master_repl_offset").value_or(n.role.offset);
  }
  n.loading = i.get_int("persistence", "loading").value_or(0) != 0;
  n.keys = i.total_keys();
  n.used_memory = i.get_int("memory", "used_memory").value_or(0);
  n.clients = i.get_int("clients", "connected_clients").value_or(0);
  n.connected_replicas = i.get_int("replication", "connected_slaves").value_or(0);
  n.uptime_seconds = i.get_int("server", "uptime_in_seconds").value_or(0);
  n.commands_processed = i.get_int("stats", "total_commands_processed").value_or(0);
}

namespace {

awaitable<result<node_state>> observe_node_unbounded(int instance, address a,
                                                     redis::credentials auth, duration timeout,
                                                     std::vector<std::string> config_keys) {
  node_state n;
  n.instance = instance;
  n.addr = a;
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a, auth, timeout, "rsm-observer"));
  if (!c) {
    n.error = c.error().message();
    co_return n;
  }
  std::vector<resp::command> cmds;
  cmds.emplace_back("ROLE");
  cmds.emplace_back("INFO");
  // Redis before 7 answers an error: no functions, no marker.
  cmds.emplace_back("FUNCTION", "LIST", "LIBRARYNAME", group_marker_library("*"));
  for (const auto& k : config_keys) cmds.emplace_back("CONFIG", "GET", k);
  auto r = co_await c->async_exec(std::move(cmds));
  if (!r) {
    n.error = r.error().message();
    co_return n;
  }
  apply_node_replies(n, (*r)[0], (*r)[1]);
  n.has_functions = (*r)[2].is_array();
  n.group_marker = group_marker_in((*r)[2]);
  for (std::size_t i = 3; i < r->size(); ++i) {
    const auto& e = (*r)[i].elements;
    for (std::size_t j = 0; j + 1 < e.size(); j += 2) n.config[e[j].str] = e[j + 1].str;
  }
  co_return n;
}

awaitable<node_state> observe_node(int instance, address a, redis::credentials auth,
                                   duration timeout, std::vector<std::string> config_keys) {
  auto r = co_await net::with_timeout(
      observe_node_unbounded(instance, a, auth, timeout, std::move(config_keys)), timeout,
      error(errc::timed_out, "no answer within " + to_string(timeout)));
  if (r) co_return std::move(*r);
  node_state n;
  n.instance = instance;
  n.addr = a;
  n.error = r.error().message();
  co_return n;
}

awaitable<result<sentinel_state>> observe_sentinel_unbounded(int instance, address a,
                                                             std::string name,
                                                             redis::credentials auth,
                                                             duration timeout) {
  sentinel_state s;
  s.instance = instance;
  s.addr = a;
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a, auth, timeout, "rsm-observer"));
  if (!c) {
    s.error = c.error().message();
    co_return s;
  }
  std::vector<resp::command> cmds;
  cmds.emplace_back("SENTINEL", "MASTER", name);
  cmds.emplace_back("SENTINEL", "CKQUORUM", name);
  cmds.emplace_back("SENTINEL", "REPLICAS", name);
  cmds.emplace_back("SENTINEL", "SENTINELS", name);
  auto r = co_await c->async_exec(std::move(cmds));
  if (!r) {
    s.error = r.error().message();
    co_return s;
  }
  const auto& rep = *r;
  if (rep[0].is_error() && rep[0].str.find("No such master") == std::string::npos) {
    s.error = rep[0].str;  // NOAUTH, or not a sentinel at all
    co_return s;
  }
  s.reachable = true;
  if (!rep[0].is_error()) {
    auto f = sentinel::to_fields(rep[0]);
    if (f) {
      if (auto v = sentinel::to_master_view(*f)) s.master = std::move(*v);
    }
  }
  s.quorum_ok = rep[1].is_text();
  s.quorum_text = rep[1].str;
  for (int k : {2, 3}) {
    if (!rep[k].is_array()) continue;
    for (const auto& e : rep[k].elements) {
      if (auto f = sentinel::to_fields(e))
        (k == 2 ? s.replicas : s.sentinels).push_back(std::move(*f));
    }
  }
  co_return s;
}

awaitable<sentinel_state> observe_sentinel(int instance, address a, std::string name,
                                           redis::credentials auth, duration timeout) {
  auto r = co_await net::with_timeout(
      observe_sentinel_unbounded(instance, a, name, auth, timeout), timeout,
      error(errc::timed_out, "no answer within " + to_string(timeout)));
  if (r) co_return std::move(*r);
  sentinel_state s;
  s.instance = instance;
  s.addr = a;
  s.error = r.error().message();
  co_return s;
}

}  // namespace

awaitable<node_state> async_observe_node(address a, settings s) {
  co_return co_await observe_node(0, std::move(a), s.redis, s.timeout, s.config_keys);
}

awaitable<group_state> async_observe(topology::group where, settings s) {
  std::vector<awaitable<node_state>> nodes;
  for (const auto& [inst, a] : where.redis)
    nodes.push_back(observe_node(inst, a, s.redis, s.timeout, s.config_keys));
  std::vector<awaitable<sentinel_state>> sentinels;
  for (const auto& [inst, a] : where.sentinels) {
    sentinels.push_back(observe_sentinel(inst, a, s.master_name, s.sentinel, s.timeout));
  }
  group_state g;
  g.master_name = s.master_name;
  using namespace asio::experimental::awaitable_operators;
  auto [n, sn] =
      co_await (net::async_gather(std::move(nodes)) && net::async_gather(std::move(sentinels)));
  for (auto& x : n) {
    if (x) g.nodes.push_back(std::move(*x));
  }
  for (auto& x : sn) {
    if (x) g.sentinels.push_back(std::move(*x));
  }
  g.observed_at = std::chrono::system_clock::now();
  co_return g;
}

}  // namespace rsm::observe
