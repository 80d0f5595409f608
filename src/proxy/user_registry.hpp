#pragma once
// --auth passthrough: the ACL users clients have authenticated as (internal to src/proxy).
//
// A client's AUTH (or HELLO AUTH) is checked by Redis itself, on its thread's authentication
// connection; when Redis says OK, the session's requests go on shared connections of that user
// (lane_key::user), which open with the user's name and the password Redis accepted last. The
// registry numbers the users so that a lane's key stays a few integers, and keeps the
// passwords those connections need to open again (after a failover, a broken connection).
#include "rsm/redis/options.hpp"

#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::proxy {

/// lane_key::user of the connections that carry no AUTH of a client: in --auth local every
/// shared connection (the proxy's own --username), in passthrough the connection of clients
/// that have not authenticated (Redis decides what they may do, as the `default` user).
inline constexpr std::uint32_t k_anonymous_user = 0;
/// lane_key::user of a thread's authentication connection (passthrough): only AUTH goes on it.
inline constexpr std::uint32_t k_auth_checks = std::numeric_limits<std::uint32_t>::max();

class user_registry {
 public:
  /// The id of user `name` (1, 2, ...), whose `password` Redis just accepted: it becomes the
  /// one the user's connections open with.
  std::uint32_t accepted(std::string_view name, std::string_view password);
  /// Name and password of user `id` (from accepted()).
  redis::credentials credentials(std::uint32_t id) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  /// By id - 1.
  std::vector<redis::credentials> users_;
};

}  // namespace rsm::proxy
