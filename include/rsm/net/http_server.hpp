#pragma once
/// A small HTTP/1.1 server on Boost.Beast for rsm's own endpoints (/metrics, /status, ...).
/// Handlers run on the server's executor (the control io_context) and answer synchronously.
///
/// Bounded: at most `max_connections` at once (more are closed at accept, counted, logged), a
/// request must arrive whole within `header_timeout` (also the keep-alive idle time), bodies up
/// to 1 MiB; accept errors (EMFILE, ENFILE, ENOMEM) back off up to a second instead of
/// spinning. Admin routes (state-changing requests) need `Authorization: Bearer <token>`
/// (compared in constant time) and are refused cross-origin; without a token they are off.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/asio.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::net {

struct http_reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct http_request_info {
  std::string method;  // "GET", "POST"
  std::string path;    // without the query
  std::string query;   // after '?', raw
  std::string body;
};

/// `a=1&b&c=x` as {a:1, b:"", c:x} (no percent-decoding: rsm's own parameters never need it;
/// a repeated key keeps its last value).
std::map<std::string, std::string> parse_query(std::string_view raw);

struct http_limits {
  std::size_t max_connections = 64;
  duration header_timeout{std::chrono::seconds(10)};
};

/// Who may call a route: anyone who reaches the listener, or only with the admin token.
enum class http_access { open, admin };

/// The admin check of one request, sans-io: its headers in, a refusal (or nothing) out.
struct http_admin_check {
  std::string_view token;          // the configured token ("" : admin requests are off)
  std::string_view authorization;  // the Authorization header
  std::string_view origin;         // the Origin header ("" when absent)
  std::string_view host;           // the Host header
  std::string_view fetch_site;     // Sec-Fetch-Site ("" when absent)
};
/// nullopt: allowed. Otherwise the reply to give (401, 403).
std::optional<http_reply> refuse_admin(const http_admin_check& c);

class http_server {
 public:
  using handler = std::function<http_reply(const http_request_info&)>;

  /// Binds at once (throws std::system_error when the address cannot be used; port 0 picks one).
  http_server(asio::any_io_executor ex, address listen, http_limits limits = {});
  ~http_server();

  /// Routes by exact path; other paths answer 404.
  void route(std::string path, handler h, http_access access = http_access::open);
  /// The token admin routes need ("" : they answer 403).
  void set_admin_token(std::string token);
  address local_address() const;
  /// Serves until `stop` or cancellation.
  awaitable<void> async_run();
  void stop();
  /// rsm_http_* series: connections open, refused over the cap, timed out, accept errors,
  /// admin requests refused.
  void add_metrics(metrics::exposition& e) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::net
