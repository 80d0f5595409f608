#pragma once
/// `rsm proxy`: accepts RESP clients and relays each to the master.
///
/// This build has the dedicated backend mode: every client session gets its own backend
/// connection, so MULTI/EXEC/WATCH, pub/sub, blocking commands, SELECT and RESP3 behave exactly
/// as on a direct connection. The proxy still parses every request (policy, AUTH to the proxy,
/// Redis's protocol limits) and every reply (to keep its own answers in order), forwarding the
/// bytes as they came. The shared (multiplexed) mode and Sentinel tracking come next (issues
/// #4 and #5).
///
///   client ──read──▶ request_parser ──policy/AUTH──▶ backend socket ──▶ Redis
///     ▲                    │ local answers (NOAUTH, refusals, errors) in order
///     └──── client writer ◀┴──── reply_parser (counts replies) ◀──read── Redis
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/proxy/policy.hpp"

#include <atomic>
#include <memory>

namespace rsm::proxy {

struct settings {
  address listen{"", 8889};
  /// The backend (static --master).
  address master;
  /// Backend AUTH, and the password clients must AUTH to the proxy with ("" = none).
  std::string password;
  std::string requirepass;
  std::size_t max_clients = 10000;
  /// Close a client idle this long with no reply due (0: never), as Redis's `timeout`.
  duration client_idle_timeout{0};
  duration connect_timeout{std::chrono::seconds(2)};
  /// Bytes of backend replies held for a client that reads slowly; past it the proxy stops
  /// reading that client's backend (Redis's own client-output-buffer-limit then applies).
  std::size_t client_output_soft_limit = 4 * 1024 * 1024;
  policy commands;
  /// The name the sentinels monitor (for messages).
  std::string master_name = "master_service";
  /// How long a new client waits for a verified master (during a failover) before an error.
  duration failover_hold{std::chrono::seconds(5)};
};

class master_tracker;

class server {
 public:
  /// Binds the listening socket (throws std::system_error when it cannot). With a tracker, the
  /// master comes from it (and sessions on a replaced master are closed); else `s.master`.
  server(net::runtime& rt, settings s, master_tracker* tracker = nullptr);
  ~server();

  address local_address() const;
  /// Accepts until stopped or cancelled; sessions run on the runtime's data contexts.
  awaitable<void> async_run();
  void stop();
  std::size_t clients() const;
  /// rsm_proxy_* gauges and counters (any thread).
  void add_metrics(metrics::exposition& e) const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace rsm::proxy
