#include "rsm/metrics/graphite.hpp"

#include "rsm/net/timeout.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>

namespace rsm::metrics {

const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& graphite_fields() {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> fields = {
      {"Server", {"uptime_in_seconds"}},
      {"Clients", {"connected_clients", "blocked_clients"}},
      {"Memory", {"used_memory", "used_memory_rss"}},
      {"Stats",
       {"total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec",
        "total_net_input_bytes", "total_net_output_bytes", "sync_full", "expired_keys",
        "evicted_keys", "keyspace_hits", "keyspace_misses"}},
      {"CPU", {"used_cpu_sys", "used_cpu_user"}},
  };
  return fields;
}

std::string graphite_prefix(std::string_view domain, std::string_view app) {
  std::string d(domain), a(app);
  for (auto& c : d) {
    if (c == '.') c = '_';
  }
  for (auto& c : a) {
    if (c == '-') c = '_';
  }
  return d.empty() ? a : d + "." + a;
}

std::string graphite_lines(std::string_view prefix, int instance, const redis::info& i,
                           std::int64_t unix_ts) {
  std::string out;
  for (const auto& [section, fields] : graphite_fields()) {
    for (auto field : fields) {
      auto v = i.get(section, field);
      if (!v || v->empty()) continue;
      char* end = nullptr;
      std::string value(*v);
      std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size()) continue;
      out += std::string(prefix) + "." + std::to_string(instance) + "." + std::string(section) +
             "." + std::string(field) + " " + value + " " + std::to_string(unix_ts) + "\n";
    }
  }
  return out;
}

namespace {

awaitable<result<void>> push(address server, std::string payload) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  // Named first: GCC 12 frees a conditional's temporary inside a co_await expression twice.
  std::string host = server.host.empty() ? "127.0.0.1" : server.host;
  std::string port = std::to_string(server.port);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, use_nothrow);
  if (rec) co_return error(errc::resolve_failed, server.host + ": " + rec.message());
  tcp::socket sock(ex);
  auto [cec, ep] = co_await asio::async_connect(sock, endpoints, use_nothrow);
  if (cec) co_return error(cec, server.to_string());
  auto [wec, n] = co_await asio::async_write(sock, asio::buffer(payload), use_nothrow);
  if (wec) co_return error(wec, server.to_string());
  error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  co_return result<void>{};
}

}  // namespace

awaitable<result<void>> async_graphite_push(address server, std::string payload, duration timeout) {
  co_return co_await net::with_timeout(push(server, std::move(payload)), timeout);
}

}  // namespace rsm::metrics
