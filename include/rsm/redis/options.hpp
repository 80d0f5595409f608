#pragma once
/// How the control-plane client reaches one Redis or Sentinel server.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rsm::net {
class tls_config;
}

namespace rsm::redis {

/// Who rsm is to one kind of server (the redis nodes, or the sentinels) and how it reaches
/// them: an ACL user and its password, and TLS. Cheap to copy (the TLS config is shared, and
/// reloads in place).
struct credentials {
  std::string username;                  ///< "": the default user
  std::string password;                  ///< "": no AUTH
  std::shared_ptr<net::tls_config> tls;  ///< null: plain TCP
};

struct options {
  address server;
  /// Resolve and TCP connect, plus the AUTH/SELECT handshake.
  duration connect_timeout{std::chrono::seconds(1)};
  /// From sending a command to its reply. On expiry the connection fails (0 = no limit).
  duration command_timeout{std::chrono::seconds(1)};
  /// AUTH on connect when a password is set (with the username: an ACL user, Redis 6+); TLS
  /// before anything when set.
  credentials auth;
  /// SELECT on connect when non-zero.
  int db = 0;
  /// CLIENT SETNAME on connect when set (shows in CLIENT LIST).
  std::string client_name;
  /// 3: HELLO 3 on connect (RESP3 replies; the reader of `opened` is then unused: only the
  /// proxy, which parses replies itself, asks for it).
  int protocol = 2;
  /// Bound on one reply (and on bytes read but not yet parsed).
  std::size_t max_reply_bytes = 64 * 1024 * 1024;
  /// Bound on pushed messages a subscriber holds before the caller receives them.
  std::size_t max_pushed_messages = 10000;
};

/// Options for a short control-plane exchange: one timeout for connect and commands.
/// (References and a string_view: no std::string temporaries inside a co_await expression,
/// which GCC 12 mishandles.)
inline options short_options(const address& server, const credentials& auth, duration timeout,
                             std::string_view client_name) {
  options o;
  o.server = server;
  o.auth = auth;
  o.connect_timeout = timeout;
  o.command_timeout = timeout;
  o.client_name = std::string(client_name);
  return o;
}

}  // namespace rsm::redis
