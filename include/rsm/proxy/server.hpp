#pragma once
/// `rsm proxy`: accepts RESP clients and relays each to the master.
///
/// Shared mode (the default): on each data thread, stateless sessions share one backend
/// connection to the master; a session that needs connection-scoped state (MULTI, WATCH,
/// SUBSCRIBE, blocking commands, SELECT n, CLIENT, HELLO, MONITOR, RESET) or sends a request
/// too large to hold moves to a connection of its own. Dedicated mode: one backend connection
/// per client. Either way the proxy parses every request (policy, AUTH to the proxy, Redis's
/// protocol limits) and every reply (to its frame boundary), forwarding bytes as they came.
/// See src/proxy/session.hpp and backend_link.hpp for the data path, docs/proxy.md for the
/// behaviour.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/metrics/prometheus.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/proxy/policy.hpp"
#include "rsm/redis/options.hpp"

#include <atomic>
#include <memory>
#include <optional>

namespace rsm::proxy {

class user_table;

enum class backend_mode { shared, dedicated };

struct settings {
  address listen{"", 8889};
  /// The backend (static --master).
  address master;
  /// How the proxy reaches the master (AUTH user and password, TLS).
  redis::credentials backend_auth;
  /// The password clients must AUTH to the proxy with ("" = none; --auth local).
  std::string requirepass;
  /// --auth passthrough: clients' AUTH and HELLO AUTH are checked by Redis, and each client's
  /// requests go on shared connections of the user it authenticated as (Redis's ACL rules
  /// apply to every command). `backend_auth`'s user is then only the proxy's own (ROLE).
  bool auth_passthrough = false;
  /// With auth_passthrough (--auth auto, without --requirepass): a client that has not
  /// authenticated runs as the proxy's own user (`backend_auth`), as with --auth local; one that
  /// AUTHs runs as the user Redis accepted. Without it (--auth passthrough), such a client is
  /// anonymous to Redis (a connection that sent no AUTH).
  bool anonymous_as_proxy = false;
  /// --auth local: users clients may AUTH as besides `default` (--users-file; null: none).
  std::shared_ptr<const user_table> users;
  /// A TLS listener besides (or instead of, with `listen` off) the plain one; its context
  /// (certificate, client verification) reloads on SIGHUP.
  std::optional<address> tls_listen;
  std::shared_ptr<net::tls_config> tls;
  /// Plain listener off (only with tls_listen).
  bool plain_off = false;
  /// A TLS handshake not done in this long closes the connection.
  duration tls_handshake_timeout{std::chrono::seconds(10)};
  std::size_t max_clients = 10000;
  backend_mode backend = backend_mode::shared;
  /// Shared connections per data thread, one per protocol (HELLO 2|3) and db (SELECT) in use;
  /// a session that needs another once the thread has this many gets a connection of its own.
  std::size_t max_shared_lanes = 32;
  /// Close a client idle this long with no reply due (0: never), as Redis's `timeout`.
  duration client_idle_timeout{0};
  /// With requirepass (--auth local): close a client that has not authenticated this long after
  /// connecting (0: never). Checked by the once-a-second sweep, so within a second of it.
  duration auth_timeout{std::chrono::seconds(10)};
  duration connect_timeout{std::chrono::seconds(2)};
  /// Bytes of backend replies held for a client that reads slowly; past it the proxy stops
  /// reading that client's backend (Redis's own client-output-buffer-limit then applies).
  std::size_t client_output_soft_limit = 4 * 1024 * 1024;
  /// On a shared connection, a client holding more than the soft limit that reads nothing for
  /// this long is closed (its replies would otherwise hold up the requests queued behind it;
  /// new ones go to another shared connection at once).
  duration client_output_stall{std::chrono::milliseconds(300)};
  /// A shared connection on which the master owes replies and sends nothing for this long is
  /// failed: only its waiters get an error (0: never). A last resort against a reply that never
  /// comes; generous enough for KEYS or a big DEL.
  duration reply_timeout{std::chrono::seconds(60)};
  /// Request bytes a session may have in flight on a shared connection (unanswered), or unsent
  /// on its own, before the proxy stops reading it until that clears: how much one client can
  /// queue ahead of the others on a shared connection (--client-query-limit).
  std::size_t client_query_limit = 64 * 1024;
  /// Bytes all clients together may hold in the proxy's buffers; past it the largest are
  /// closed first (--maxmemory-clients; 0: no budget).
  std::size_t maxmemory_clients = std::size_t{1} << 30;
  /// Close a client that holds part of a request and sends nothing that completes it for this
  /// long (0: never). Checked by the once-a-second sweep.
  duration partial_request_timeout{std::chrono::seconds(30)};
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

  /// The plain listener's address (port 0 when off), and the TLS listener's (port 0 without).
  address local_address() const;
  address tls_local_address() const;
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
