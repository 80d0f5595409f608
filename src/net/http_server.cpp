#include "rsm/net/http_server.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace rsm::net {
namespace beast = boost::beast;
namespace http = beast::http;

struct http_server::state {
  explicit state(asio::any_io_executor ex) : acceptor(ex) {}
  tcp::acceptor acceptor;
  std::map<std::string, handler> routes;
  bool stopped = false;
};

http_server::http_server(asio::any_io_executor ex, address listen)
    : state_(std::make_shared<state>(ex)) {
  auto host = listen.host.empty() ? "0.0.0.0" : listen.host;
  tcp::endpoint ep(asio::ip::make_address(host), listen.port);
  state_->acceptor.open(ep.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(ep);
  state_->acceptor.listen();
}

http_server::~http_server() {
  stop();
}

void http_server::route(std::string path, handler h) {
  state_->routes[std::move(path)] = std::move(h);
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
}

namespace {

awaitable<void> serve(std::shared_ptr<http_server::state> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1024 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec) co_return;
    auto& req = parser.get();
    std::string_view target = req.target();
    auto q = target.find('?');
    http_request_info info{std::string(req.method_string()), std::string(target.substr(0, q)),
                           q == std::string_view::npos ? "" : std::string(target.substr(q + 1)),
                           req.body()};
    http_reply reply{404, "text/plain; charset=utf-8", "404 not found\n"};
    if (auto it = st->routes.find(info.path); it != st->routes.end()) {
      try {
        reply = it->second(info);
      } catch (const std::exception& e) {
        reply = {500, "text/plain; charset=utf-8",
                 std::string("internal error: ") + e.what() + "\n"};
      }
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, reply.content_type);
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
  while (!st->stopped) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_nothrow);
    if (ec) {
      if (st->stopped || ec == asio::error::operation_aborted) co_return;
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
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
