#include "rsm/redis/commands.hpp"

namespace rsm::redis {

result<resp::reply> check(result<resp::reply> r) {
  if (!r) return r.error();
  if (r->is_error()) return error(errc::error_reply, r->str);
  return r;
}

result<void> expect_ok(const result<resp::reply>& r) {
  if (!r) return r.error();
  if (r->is_error()) return error(errc::error_reply, r->str);
  if (!r->is_ok()) return error(errc::unexpected_reply, r->to_debug_string());
  return {};
}

awaitable<result<role_info>> async_role(connection& c) {
  auto r = co_await c.async_exec(resp::command{"ROLE"});
  if (!r) co_return r.error();
  co_return parse_role(*r);
}

awaitable<result<info>> async_info(connection& c, std::string section) {
  resp::command cmd{"INFO"};
  if (!section.empty()) cmd.arg(section);
  auto r = check(co_await c.async_exec(std::move(cmd)));
  if (!r) co_return r.error();
  if (!r->is_text()) co_return error(errc::unexpected_reply, "INFO: " + r->to_debug_string());
  co_return parse_info(r->str);
}

awaitable<result<void>> async_replicaof(connection& c, std::optional<address> master) {
  resp::command cmd{"REPLICAOF"};
  if (master) {
    cmd.arg(master->host).arg(master->port);
  } else {
    cmd.arg("NO").arg("ONE");
  }
  auto r = check(co_await c.async_exec(std::move(cmd)));
  if (!r) co_return r.error();
  // "+OK" or "+OK Already connected to specified master".
  if (r->type != resp::reply::kind::status || r->str.rfind("OK", 0) != 0) {
    co_return error(errc::unexpected_reply, "REPLICAOF: " + r->to_debug_string());
  }
  co_return result<void>{};
}

awaitable<result<std::map<std::string, std::string>>> async_config_get(connection& c,
                                                                       std::string pattern) {
  auto r = check(co_await c.async_exec(resp::command{"CONFIG", "GET", pattern}));
  if (!r) co_return r.error();
  if (!r->is_array() || r->elements.size() % 2 != 0) {
    co_return error(errc::unexpected_reply, "CONFIG GET: " + r->to_debug_string());
  }
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
    out[r->elements[i].as_text().value_or("")] = r->elements[i + 1].as_text().value_or("");
  }
  co_return out;
}

awaitable<result<void>> async_config_set(connection& c, std::string key, std::string value) {
  co_return expect_ok(co_await c.async_exec(resp::command{"CONFIG", "SET", key, value}));
}

}  // namespace rsm::redis
