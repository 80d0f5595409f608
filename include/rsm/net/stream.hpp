#pragma once
/// One connection, plain TCP or TLS over it, with one read/write surface for both: the proxy's
/// sessions and backend links and the control-plane client use it, and a TLS connection costs
/// nothing where TLS is off.
///
/// The data path writes without blocking first (try_write_some) and queues what the socket does
/// not take; TLS cannot: a record that the socket takes only in part would be lost to a
/// synchronous write, so over TLS try_write_some takes nothing and the writer coroutine sends
/// it (one SSL_write per batch, the batching unchanged). One read and one write may be
/// outstanding at once, as on a socket.
#include "rsm/net/asio.hpp"
#include "rsm/net/tls.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>

namespace rsm::net {

class stream {
 public:
  using executor_type = tcp::socket::executor_type;

  /// Plain TCP.
  explicit stream(tcp::socket s) : plain_(std::move(s)) {}
  /// TLS over `s`, to be handshaken (async_handshake) before use; `ctx` lives as long.
  stream(tcp::socket s, std::shared_ptr<ssl::context> ctx)
      : plain_(s.get_executor()),
        ctx_(std::move(ctx)),
        tls_(std::make_unique<ssl::stream<tcp::socket>>(std::move(s), *ctx_)) {}

  stream(stream&&) noexcept = default;
  stream& operator=(stream&&) noexcept = default;

  executor_type get_executor() { return socket().get_executor(); }
  /// The TCP layer (options, addresses, the descriptor, close).
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  const tcp::socket& socket() const { return tls_ ? tls_->next_layer() : plain_; }
  bool is_tls() const { return tls_ != nullptr; }
  bool is_open() const { return socket().is_open(); }

  /// The TLS handshake: as a client with `server_name` for SNI (when not empty), or as a
  /// server. A plain stream has nothing to do. The error text says what failed (a plaintext
  /// peer, a certificate that does not verify).
  awaitable<result<void>> async_handshake(ssl::stream_base::handshake_type side,
                                          std::string server_name);
  /// The verified peer certificate's subject, "" when none (a plain stream, no certificate).
  std::string peer_subject() const;

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            plain_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            plain_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  /// What a non-blocking socket takes now, without waiting (0 over TLS, see above; would_block
  /// is not an error here: `ec` is set only when the connection failed).
  std::size_t try_write_some(asio::const_buffer bytes, error_code& ec) {
    ec.clear();
    if (tls_) return 0;
    auto n = plain_.write_some(bytes, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec.clear();
      return 0;
    }
    return n;
  }

  /// Shuts the TCP connection down both ways and closes it (no TLS close_notify: a peer
  /// that needs one learns of the end from the closed connection, as from Redis).
  void close() {
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  tcp::socket plain_;  // when !tls_ (an unopened socket otherwise)
  std::shared_ptr<ssl::context> ctx_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
};

}  // namespace rsm::net
