#include "rsm/net/http_server.hpp"

#include "rsm/log.hpp"
#include "rsm/net/backoff.hpp"
#include "rsm/secret.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace rsm::net {
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// At most one log line a second per kind of trouble: a flood must not flood the log too.
struct log_gate {
  std::chrono::steady_clock::time_point last{};
  bool open() {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1)) return false;
    last = now;
    return true;
  }
};

}  // namespace

struct http_server::state {
  state(asio::any_io_executor ex, http_limits l) : acceptor(ex), backoff(ex), limits(l) {}
  tcp::acceptor acceptor;
  asio::steady_timer backoff;  // the accept loop's pause after an accept error
  http_limits limits;
  struct route_entry {
    handler h;
    http_access access = http_access::open;
  };
  std::map<std::string, route_entry> routes;
  std::string admin_token;
  bool stopped = false;
  std::string where;  // the listen address, for logs
  // Counters (the control thread only).
  std::size_t open = 0;
  std::uint64_t refused_over_cap = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t admin_refused = 0;
  log_gate cap_log, accept_log, admin_log;
};

http_server::http_server(asio::any_io_executor ex, address listen, http_limits limits)
    : state_(std::make_shared<state>(ex, limits)) {
  auto host = listen.host.empty() ? "0.0.0.0" : listen.host;
  tcp::endpoint ep(asio::ip::make_address(host), listen.port);
  state_->acceptor.open(ep.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(ep);
  state_->acceptor.listen();
  state_->where = local_address().to_string();
}

http_server::~http_server() {
  stop();
}

void http_server::route(std::string path, handler h, http_access access) {
  state_->routes[std::move(path)] = {std::move(h), access};
}

void http_server::set_admin_token(std::string token) {
  state_->admin_token = std::move(token);
}

address http_server::local_address() const {
  auto ep = state_->acceptor.local_endpoint();
  return {ep.address().to_string(), ep.port()};
}

void http_server::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->backoff.cancel();
}

void http_server::add_metrics(metrics::exposition& e) const {
  const auto& s = *state_;
  const metrics::labels l{{"listener", s.where}};
  e.gauge("rsm_http_connections", "HTTP connections open", l, static_cast<double>(s.open));
  e.gauge("rsm_http_max_connections", "HTTP connections allowed at once", l,
          static_cast<double>(s.limits.max_connections));
  e.counter("rsm_http_connections_refused_total",
            "HTTP connections closed at accept: the connection cap was reached", l,
            static_cast<double>(s.refused_over_cap));
  e.counter("rsm_http_requests_timed_out_total",
            "HTTP connections closed: no whole request within the header timeout", l,
            static_cast<double>(s.timed_out));
  e.counter("rsm_http_accept_errors_total", "HTTP accept errors (EMFILE, ENFILE, ...)", l,
            static_cast<double>(s.accept_errors));
  e.counter("rsm_http_admin_refused_total",
            "admin requests refused: no or wrong token, cross-origin, or admin requests off", l,
            static_cast<double>(s.admin_refused));
}

std::optional<http_reply> refuse_admin(const http_admin_check& c) {
  // A browser tells where a request comes from; a page of another site must not reach the
  // admin routes even with a token it could not have (defence in depth against CSRF).
  if (c.fetch_site == "cross-site" || c.fetch_site == "same-site") {
    return http_reply{403, "text/plain; charset=utf-8", "cross-origin request refused\n"};
  }
  if (!c.origin.empty()) {
    auto scheme = c.origin.find("://");
    std::string_view o = scheme == std::string_view::npos ? c.origin : c.origin.substr(scheme + 3);
    if (o != c.host) {
      return http_reply{403, "text/plain; charset=utf-8", "cross-origin request refused\n"};
    }
  }
  if (c.token.empty()) {
    return http_reply{403, "text/plain; charset=utf-8",
                      "admin requests are off: start with --admin-token-file FILE\n"};
  }
  constexpr std::string_view k_bearer = "Bearer ";
  if (!c.authorization.starts_with(k_bearer) ||
      !same_secret(c.authorization.substr(k_bearer.size()), c.token)) {
    return http_reply{401, "text/plain; charset=utf-8",
                      "give the admin token: Authorization: Bearer <token>\n"};
  }
  return std::nullopt;
}

namespace {

struct open_count {
  explicit open_count(http_server::state& s) : st(s) { ++st.open; }
  ~open_count() { --st.open; }
  http_server::state& st;
};

awaitable<void> serve(std::shared_ptr<http_server::state> st, tcp::socket socket) {
  open_count counted(*st);
  error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1024 * 1024);
    stream.expires_after(st->limits.header_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec) {
      if (ec == beast::error::timeout && (parser.got_some() || buffer.size() > 0)) ++st->timed_out;
      co_return;
    }
    auto& req = parser.get();
    std::string_view target = req.target();
    auto q = target.find('?');
    http_request_info info{std::string(req.method_string()), std::string(target.substr(0, q)),
                           q == std::string_view::npos ? "" : std::string(target.substr(q + 1)),
                           req.body()};
    http_reply reply{404, "text/plain; charset=utf-8", "404 not found\n"};
    bool auth_challenge = false;
    if (auto it = st->routes.find(info.path); it != st->routes.end()) {
      std::optional<http_reply> refused;
      if (it->second.access == http_access::admin) {
        refused =
            refuse_admin({st->admin_token, req[http::field::authorization],
                          req[http::field::origin], req[http::field::host], req["Sec-Fetch-Site"]});
      }
      if (refused) {
        ++st->admin_refused;
        auth_challenge = refused->status == 401;
        if (st->admin_log.open()) {
          log::warn("http", "admin request refused",
                    {{"path", info.path},
                     {"status", std::to_string(refused->status)},
                     {"peer", peer_ec ? std::string("?") : peer.address().to_string()}});
        }
        reply = std::move(*refused);
      } else {
        try {
          reply = it->second.h(info);
        } catch (const std::exception& e) {
          reply = {500, "text/plain; charset=utf-8",
                   std::string("internal error: ") + e.what() + "\n"};
        }
      }
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, reply.content_type);
    if (auth_challenge) res.set(http::field::www_authenticate, "Bearer");
    res.body() = std::move(reply.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    if (wec || !res.keep_alive()) {
      error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
  }
}

}  // namespace

awaitable<void> http_server::async_run() {
  auto st = state_;
  auto ex = co_await asio::this_coro::executor;
  net::backoff delays(std::chrono::milliseconds(10), std::chrono::seconds(1));
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_nothrow);
    if (ec) {
      if (st->stopped || ec == asio::error::operation_aborted) co_return;
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
      // Out of descriptors or memory: the error repeats at once; wait instead of spinning.
      ++st->accept_errors;
      const auto pause = delays.next();
      if (st->accept_log.open()) {
        log::warn("http", "accept failed; backing off",
                  {{"listener", st->where}, {"error", ec.message()}, {"for", to_string(pause)}});
      }
      st->backoff.expires_after(pause);
      if (auto [pec] = co_await st->backoff.async_wait(use_nothrow); pec) co_return;
      continue;
    }
    delays.reset();
    if (st->open >= st->limits.max_connections) {
      ++st->refused_over_cap;
      if (st->cap_log.open()) {
        log::warn("http", "connection cap reached; closing new connections",
                  {{"listener", st->where}, {"max", std::to_string(st->limits.max_connections)}});
      }
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(ex, serve(st, std::move(socket)), asio::detached);
  }
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto item = q.substr(0, amp);
    auto eq = item.find('=');
    out[std::string(item.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace rsm::net
