#pragma once
/// Opening a connection: resolve, TCP connect, TLS (when the credentials have it) and the
/// Redis handshake (AUTH, SELECT, CLIENT SETNAME), all within `options::connect_timeout`.
#include "rsm/net/asio.hpp"
#include "rsm/net/stream.hpp"
#include "rsm/redis/options.hpp"
#include "rsm/resp/reply_reader.hpp"

namespace rsm::redis {

/// A connection after a successful handshake, with the reader that parsed it (it may hold bytes
/// that already followed the handshake replies).
struct opened {
  net::stream stream;
  resp::reply_reader reader;
};

/// Fails with the connect error (connection_refused, ...), errc::connect_timeout, or
/// errc::handshake_failed with the server's error text (never the password), or
/// the TLS handshake's error (a certificate that does not verify, a plaintext server).
awaitable<result<opened>> async_open(options opts);

}  // namespace rsm::redis
