#include "rsm/sentinel/commands.hpp"

#include "rsm/redis/commands.hpp"

#include <charconv>

namespace rsm::sentinel {
namespace {

long long to_ll(const fields& f, std::string_view key) {
  auto it = f.find(key);
  if (it == f.end()) return 0;
  long long n = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return n;
}

std::string get(const fields& f, std::string_view key) {
  auto it = f.find(key);
  return it == f.end() ? std::string() : it->second;
}

result<std::vector<fields>> to_field_list(const result<resp::reply>& r, std::string_view what) {
  if (!r) return r.error();
  if (r->is_error()) return error(errc::error_reply, r->str);
  if (!r->is_array())
    return error(errc::unexpected_reply, std::string(what) + ": " + r->to_debug_string());
  std::vector<fields> out;
  for (const auto& e : r->elements) {
    auto f = to_fields(e);
    if (!f) return f.error();
    out.push_back(std::move(*f));
  }
  return out;
}

resp::command sentinel_cmd(std::string_view sub, std::string_view name) {
  return resp::command{"SENTINEL", sub, name};
}

}  // namespace

result<fields> to_fields(const resp::reply& r) {
  if (r.is_error()) return error(errc::error_reply, r.str);
  if (!r.is_array() || r.elements.size() % 2 != 0) {
    return error(errc::unexpected_reply, "sentinel record: " + r.to_debug_string());
  }
  fields out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out[r.elements[i].as_text().value_or("")] = r.elements[i + 1].as_text().value_or("");
  }
  return out;
}

result<master_view> to_master_view(const fields& f) {
  master_view v;
  v.name = get(f, "name");
  auto port = to_ll(f, "port");
  if (v.name.empty() || port <= 0 || port > 65535) {
    return error(errc::unexpected_reply, "SENTINEL MASTER without name/ip/port");
  }
  v.addr = address{get(f, "ip"), static_cast<std::uint16_t>(port)};
  const auto all = get(f, "flags");
  std::string_view rest = all;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (auto item = rest.substr(0, comma); !item.empty()) v.flags.emplace(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  v.config_epoch = to_ll(f, "config-epoch");
  v.num_replicas = to_ll(f, "num-slaves");
  v.num_other_sentinels = to_ll(f, "num-other-sentinels");
  v.quorum = to_ll(f, "quorum");
  v.failover_state = get(f, "failover-state");
  return v;
}

awaitable<result<std::vector<fields>>> async_masters(redis::connection& c) {
  co_return to_field_list(co_await c.async_exec(resp::command{"SENTINEL", "MASTERS"}), "MASTERS");
}

awaitable<result<fields>> async_master(redis::connection& c, std::string name) {
  auto r = co_await c.async_exec(sentinel_cmd("MASTER", name));
  if (!r) co_return r.error();
  co_return to_fields(*r);
}

awaitable<result<std::optional<address>>> async_get_master_addr(redis::connection& c,
                                                                std::string name) {
  auto r = redis::check(co_await c.async_exec(sentinel_cmd("get-master-addr-by-name", name)));
  if (!r) co_return r.error();
  if (r->is_nil()) co_return std::optional<address>{};
  if (!r->is_array() || r->elements.size() != 2) {
    co_return error(errc::unexpected_reply, "get-master-addr-by-name: " + r->to_debug_string());
  }
  auto port = r->elements[1].as_integer();
  if (!port || *port <= 0 || *port > 65535) {
    co_return error(errc::unexpected_reply, "get-master-addr-by-name: " + r->to_debug_string());
  }
  co_return std::optional<address>(
      address{r->elements[0].as_text().value_or(""), static_cast<std::uint16_t>(*port)});
}

awaitable<result<std::vector<fields>>> async_replicas(redis::connection& c, std::string name) {
  // SENTINEL REPLICAS exists since Redis 5; SLAVES is the older spelling.
  co_return to_field_list(co_await c.async_exec(sentinel_cmd("REPLICAS", name)), "REPLICAS");
}

awaitable<result<std::vector<fields>>> async_sentinels(redis::connection& c, std::string name) {
  co_return to_field_list(co_await c.async_exec(sentinel_cmd("SENTINELS", name)), "SENTINELS");
}

awaitable<result<std::string>> async_ckquorum(redis::connection& c, std::string name) {
  auto r = redis::check(co_await c.async_exec(sentinel_cmd("CKQUORUM", name)));
  if (!r) co_return r.error();
  co_return r->str;
}

awaitable<result<void>> async_monitor(redis::connection& c, std::string name, address master,
                                      int quorum) {
  co_return redis::expect_ok(
      co_await c.async_exec(resp::command{"SENTINEL", "MONITOR", name, master.host,
                                          std::to_string(master.port), std::to_string(quorum)}));
}

awaitable<result<void>> async_remove(redis::connection& c, std::string name) {
  co_return redis::expect_ok(co_await c.async_exec(sentinel_cmd("REMOVE", name)));
}

awaitable<result<void>> async_set(redis::connection& c, std::string name,
                                  std::vector<std::pair<std::string, std::string>> settings) {
  auto cmd = sentinel_cmd("SET", name);
  for (const auto& [k, v] : settings) cmd.arg(k).arg(v);
  co_return redis::expect_ok(co_await c.async_exec(std::move(cmd)));
}

awaitable<result<long long>> async_reset(redis::connection& c, std::string pattern) {
  auto r = redis::check(co_await c.async_exec(sentinel_cmd("RESET", pattern)));
  if (!r) co_return r.error();
  if (!r->is_integer()) co_return error(errc::unexpected_reply, "RESET: " + r->to_debug_string());
  co_return r->integer;
}

awaitable<result<void>> async_failover(redis::connection& c, std::string name) {
  co_return redis::expect_ok(co_await c.async_exec(sentinel_cmd("FAILOVER", name)));
}

}  // namespace rsm::sentinel
