#pragma once
/// How the control-plane client reaches one Redis or Sentinel server.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace rsm::redis {

struct options {
  address server;
  /// Resolve and TCP connect, plus the AUTH/SELECT handshake.
  duration connect_timeout{std::chrono::seconds(1)};
  /// From sending a command to its reply. On expiry the connection fails (0 = no limit).
  duration command_timeout{std::chrono::seconds(1)};
  /// AUTH on connect when `password` is set; `username` selects an ACL user (Redis 6+).
  std::string username;
  std::string password;
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
inline options short_options(const address& server, const std::string& password, duration timeout,
                             std::string_view client_name) {
  options o;
  o.server = server;
  o.password = password;
  o.connect_timeout = timeout;
  o.command_timeout = timeout;
  o.client_name = std::string(client_name);
  return o;
}

}  // namespace rsm::redis
