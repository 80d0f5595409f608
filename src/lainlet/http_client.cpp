#include "rsm/lainlet/http_client.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace rsm::lainlet {
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t k_max_body = 64 * 1024 * 1024;

// Beast reports an expired tcp_stream deadline as beast::error::timeout.
error map_error(const error_code& ec, const address& server, errc on_timeout) {
  if (ec == beast::error::timeout) return error(on_timeout, server.to_string());
  return error(ec, server.to_string());
}

// Returns the socket, not the tcp_stream: result<tcp_stream> cannot be built from an error
// (tcp_stream's variadic constructor claims to accept anything).
awaitable<result<tcp::socket>> async_connect(address server, duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  std::string host = server.host.empty() ? "127.0.0.1" : server.host;
  // Resolution has no deadline of its own in Asio: race it against the timeout.
  asio::steady_timer timer(ex, timeout);
  using namespace asio::experimental::awaitable_operators;
  auto raced = co_await (resolver.async_resolve(host, std::to_string(server.port),
                                                tcp::resolver::numeric_service, use_nothrow) ||
                         timer.async_wait(use_nothrow));
  if (raced.index() == 1) co_return error(errc::connect_timeout, "resolving " + host);
  auto [rec, endpoints] = std::get<0>(raced);
  if (rec) co_return error(errc::resolve_failed, host + ": " + rec.message());
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  auto [ec, ep] = co_await stream.async_connect(endpoints, use_nothrow);
  if (ec) co_return map_error(ec, server, errc::connect_timeout);
  co_return stream.release_socket();
}

http::request<http::empty_body> make_request(const address& server, const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, server.to_string());
  req.set(http::field::user_agent, "rsm");
  return req;
}

// Connects and sends the GET before `deadline`; returns the socket to read the answer from.
awaitable<result<tcp::socket>> async_send_get(address server, std::string target,
                                              std::chrono::steady_clock::time_point deadline,
                                              duration timeout, errc on_timeout) {
  auto socket = co_await async_connect(server, timeout);
  if (!socket) co_return socket.error();
  beast::tcp_stream stream(std::move(*socket));
  stream.expires_at(deadline);
  auto req = make_request(server, target);
  auto [wec, wn] = co_await http::async_write(stream, req, use_nothrow);
  if (wec) co_return map_error(wec, server, on_timeout);
  co_return stream.release_socket();
}

}  // namespace

awaitable<result<http_response>> async_get(address server, std::string target, duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto socket = co_await async_send_get(server, target, deadline, timeout, errc::timed_out);
  if (!socket) co_return socket.error();
  auto stream = std::make_optional<beast::tcp_stream>(std::move(*socket));
  stream->expires_at(deadline);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(k_max_body);
  auto [rec, rn] = co_await http::async_read(*stream, buffer, parser, use_nothrow);
  if (rec) co_return map_error(rec, server, errc::timed_out);
  auto& res = parser.get();
  error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return http_response{res.result_int(), std::move(res.body())};
}

struct watch_stream::impl {
  beast::tcp_stream stream;
  address server;
  std::string pending;  // body bytes that arrived with the header
};

watch_stream::watch_stream(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
watch_stream::watch_stream(watch_stream&&) noexcept = default;
watch_stream& watch_stream::operator=(watch_stream&&) noexcept = default;
watch_stream::~watch_stream() = default;

awaitable<result<watch_stream>> watch_stream::async_open(address server, std::string target,
                                                         duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto socket = co_await async_send_get(server, target, deadline, timeout, errc::connect_timeout);
  if (!socket) co_return socket.error();
  auto stream = std::make_optional<beast::tcp_stream>(std::move(*socket));
  stream->expires_at(deadline);
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  auto [rec, rn] = co_await http::async_read_header(*stream, buffer, parser, use_nothrow);
  if (rec) co_return map_error(rec, server, errc::connect_timeout);
  auto status = parser.get().result_int();
  std::string leftover(static_cast<const char*>(buffer.data().data()), buffer.size());
  if (status != 200) {
    auto line = leftover.substr(0, leftover.find('\n'));
    co_return error(errc::unexpected_reply,
                    "lainlet answered HTTP " + std::to_string(status) + ": " + line);
  }
  auto i = std::make_unique<impl>(impl{std::move(*stream), server, std::move(leftover)});
  co_return watch_stream(std::move(i));
}

awaitable<result<std::string>> watch_stream::async_read(duration timeout) {
  if (!impl_->pending.empty()) co_return std::exchange(impl_->pending, std::string());
  std::string buf(16 * 1024, '\0');
  impl_->stream.expires_after(timeout);
  auto [ec, n] = co_await impl_->stream.async_read_some(asio::buffer(buf), use_nothrow);
  if (ec) co_return map_error(ec, impl_->server, errc::timed_out);
  buf.resize(n);
  co_return buf;
}

}  // namespace rsm::lainlet
