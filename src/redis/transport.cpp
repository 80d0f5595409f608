#include "rsm/redis/transport.hpp"

#include "rsm/net/timeout.hpp"
#include "rsm/net/tls.hpp"
#include "rsm/resp/command.hpp"
#include "rsm/resp/frame_parser.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace rsm::redis {
namespace {

awaitable<result<tcp::socket>> async_tcp_connect(address server) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  std::string host = server.host.empty() ? "127.0.0.1" : server.host;
  auto [rec, endpoints] = co_await resolver.async_resolve(
      host, std::to_string(server.port), tcp::resolver::numeric_service, use_nothrow);
  if (rec) co_return error(errc::resolve_failed, host + ": " + rec.message());
  tcp::socket socket(ex);
  error_code ec = asio::error::host_not_found;
  bool open_failed = false;
  for (const auto& entry : endpoints) {
    error_code ignored;
    socket.close(ignored);
    // Opened here, not by a range connect: out of descriptors (EMFILE) is then reported as
    // what it is, not as a cancelled connect. (An address family the host lacks: the next.)
    socket.open(entry.endpoint().protocol(), ec);
    open_failed = static_cast<bool>(ec);
    if (ec) continue;
    auto [cec] = co_await socket.async_connect(entry.endpoint(), use_nothrow);
    ec = cec;
    if (!ec) break;
  }
  if (ec && open_failed) co_return error(ec, "cannot open a socket to " + server.to_string());
  if (ec) co_return error(ec, server.to_string());
  socket.set_option(tcp::no_delay(true), ec);
  co_return std::move(socket);
}

// TLS first when the credentials have it; SNI carries a host name (not an address).
awaitable<result<net::stream>> async_secure(tcp::socket socket, const options& opts) {
  if (!opts.auth.tls) co_return net::stream(std::move(socket));
  net::stream s(std::move(socket), opts.auth.tls->context());
  error_code ec;
  asio::ip::make_address(opts.server.host, ec);
  const std::string sni = ec ? opts.server.host : std::string();
  auto done = co_await s.async_handshake(net::ssl::stream_base::client, sni);
  if (!done)
    co_return error(done.error().code, opts.server.to_string() + ": " + done.error().detail);
  co_return std::move(s);
}

awaitable<result<opened>> async_handshake(net::stream socket, options opts) {
  std::vector<resp::command> cmds;
  if (!opts.auth.password.empty()) {
    resp::command auth{"AUTH"};
    if (!opts.auth.username.empty()) auth.arg(opts.auth.username);
    auth.arg(opts.auth.password);
    cmds.push_back(std::move(auth));
  }
  if (opts.protocol == 3) cmds.push_back(resp::command{"HELLO", "3"});
  if (opts.db != 0) cmds.push_back(resp::command{"SELECT", std::to_string(opts.db)});
  if (!opts.client_name.empty())
    cmds.push_back(resp::command{"CLIENT", "SETNAME", opts.client_name});

  resp::reply_reader reader(opts.max_reply_bytes);
  if (cmds.empty()) co_return opened{std::move(socket), std::move(reader)};

  std::string out;
  for (const auto& c : cmds) resp::encode(c, out);
  auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(out), use_nothrow);
  if (wec) co_return error(wec, opts.server.to_string());

  std::array<char, 4096> buf;
  std::size_t answered = 0;
  if (opts.protocol == 3) {
    // HELLO 3 answers a map, which the RESP2 reader does not know: frames are counted with the
    // proxy's own parser (no byte follows the handshake replies on a connection nobody used).
    resp::reply_parser replies;
    while (answered < cmds.size()) {
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(buf), use_nothrow);
      if (rec) co_return error(rec, opts.server.to_string());
      std::string_view data(buf.data(), n);
      while (!data.empty() && answered < cmds.size()) {
        auto step = replies.parse(data);
        data.remove_prefix(step.consumed);
        if (step.what == resp::parse_step::kind::error)
          co_return error(errc::protocol_error, replies.error_message());
        if (step.what != resp::parse_step::kind::frame_end) break;
        if (replies.is_error()) {
          co_return error(errc::handshake_failed, cmds[answered].name() + ": " +
                                                      std::string(replies.error_prefix().view()));
        }
        ++answered;
      }
    }
    co_return opened{std::move(socket), std::move(reader)};
  }
  while (answered < cmds.size()) {
    auto next = reader.next();
    if (!next) co_return next.error();
    if (*next) {
      const auto& r = **next;
      if (r.is_error()) {
        // The command name is safe to report; its arguments (the password) are not.
        co_return error(errc::handshake_failed, cmds[answered].name() + ": " + r.str);
      }
      ++answered;
      continue;
    }
    auto [rec, n] = co_await socket.async_read_some(asio::buffer(buf), use_nothrow);
    if (rec) co_return error(rec, opts.server.to_string());
    if (auto f = reader.feed(buf.data(), n); !f) co_return f.error();
  }
  co_return opened{std::move(socket), std::move(reader)};
}

awaitable<result<opened>> async_open_unbounded(options opts) {
  auto sock = co_await async_tcp_connect(opts.server);
  if (!sock) co_return sock.error();
  auto secured = co_await async_secure(std::move(*sock), opts);
  if (!secured) co_return secured.error();
  co_return co_await async_handshake(std::move(*secured), std::move(opts));
}

}  // namespace

awaitable<result<opened>> async_open(options opts) {
  auto timeout = opts.connect_timeout;
  auto where = opts.server.to_string();
  co_return co_await net::with_timeout(async_open_unbounded(std::move(opts)), timeout,
                                       error(errc::connect_timeout, where));
}

}  // namespace rsm::redis
