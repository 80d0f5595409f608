#pragma once
/// How the control-plane client reaches one Redis or Sentinel server.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"

#include <cstddef>
#include <string>

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
  /// Bound on one reply (and on bytes read but not yet parsed).
  std::size_t max_reply_bytes = 64 * 1024 * 1024;
  /// Bound on pushed messages a subscriber holds before the caller receives them.
  std::size_t max_pushed_messages = 10000;
};

}  // namespace rsm::redis
