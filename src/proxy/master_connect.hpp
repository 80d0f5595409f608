#pragma once
// Opening a backend connection to the verified master, within --failover-hold: what shared
// connections and sessions' own connections both do before they send anything (internal).
#include "server_state.hpp"

#include "rsm/net/stream.hpp"
#include "rsm/redis/options.hpp"

#include <functional>
#include <optional>
#include <string>

namespace rsm::proxy {

struct master_connection {
  net::stream socket;
  /// The master it is open to, verified when it opened.
  std::shared_ptr<const master_info> master;
  /// No usable master at first: the request waited (a failover was in progress).
  bool waited = false;
};

struct master_attempt {
  /// Empty: cancelled (error empty), or no connection before the hold ended (error says why).
  std::optional<master_connection> connection;
  /// None was verified for the whole hold (else the verified master could not be reached).
  bool no_master = false;
  /// For the client's error reply, after "-ERR rsm proxy: ".
  std::string error;
};

/// Connects to the verified master with `o` (its password, timeouts, db), waiting until `until`
/// for one: every 20 ms while none is verified; after a failed connect (logged once) it asks the
/// tracker to look again and retries after 100 ms, as the master may have just gone. A
/// connection to a master that was replaced while it opened is dropped (nothing was sent on
/// it). `cancelled()` is checked after every wait: true ends the attempt at once.
awaitable<master_attempt> open_master(server::state& st, redis::options o,
                                      std::chrono::steady_clock::time_point until,
                                      std::function<bool()> cancelled);

}  // namespace rsm::proxy
