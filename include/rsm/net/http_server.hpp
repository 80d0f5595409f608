#pragma once
/// A small HTTP/1.1 server on Boost.Beast for rsm's own endpoints (/metrics, /status, ...).
/// Handlers run on the server's executor (the control io_context) and answer synchronously.
#include "rsm/address.hpp"
#include "rsm/net/asio.hpp"

#include <functional>
#include <map>
#include <memory>
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

class http_server {
 public:
  using handler = std::function<http_reply(const http_request_info&)>;

  /// Binds at once (throws std::system_error when the address cannot be used; port 0 picks one).
  http_server(asio::any_io_executor ex, address listen);
  ~http_server();

  /// Routes by exact path; other paths answer 404.
  void route(std::string path, handler h);
  address local_address() const;
  /// Serves until `stop` or cancellation.
  awaitable<void> async_run();
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::net
