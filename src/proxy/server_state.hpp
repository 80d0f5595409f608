#pragma once
// What the proxy's sessions and shared backend connections share (internal to src/proxy).
#include "rsm/proxy/master_tracker.hpp"
#include "rsm/proxy/server.hpp"
#include "user_registry.hpp"

#include <atomic>
#include <memory>
#include <unordered_set>
#include <vector>

namespace rsm::proxy {

class session;
class backend_link;

/// Counters of one data thread (each thread adds to its own cache line; /metrics sums them).
struct alignas(64) thread_counters {
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> backend_connects{0};
  std::atomic<std::uint64_t> backend_writes{0};    // writes to shared connections (batches)
  std::atomic<std::uint64_t> pinned{0};            // sessions pinned (total)
  std::atomic<std::uint64_t> lost_replies{0};      // error replies for a lost shared connection
  std::atomic<std::uint64_t> slow_closed{0};       // clients closed for not reading their replies
  std::atomic<std::uint64_t> migrated{0};          // sessions moved to a new master
  std::atomic<std::uint64_t> reply_timeouts{0};    // shared connections failed by --reply-timeout
  std::atomic<std::uint64_t> ends_revealed{0};     // ends of stream found by the sweep
  std::atomic<std::uint64_t> query_paused{0};      // client reads paused by --client-query-limit
  std::atomic<std::uint64_t> evicted{0};           // clients closed by --maxmemory-clients
  std::atomic<std::uint64_t> partial_timeouts{0};  // clients closed by --partial-request-timeout
  void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

/// What a shared connection carries for every session on it: its protocol (HELLO 2|3), its
/// db (SELECT) and, with --auth passthrough, the ACL user it authenticated as (AUTH; ids from
/// user_registry.hpp). Sessions share a connection of their own protocol, db and user.
struct lane_key {
  int resp = 2;
  long long db = 0;
  std::uint32_t user = k_anonymous_user;
  friend bool operator==(const lane_key&, const lane_key&) = default;
};

/// One data thread's shared connection for one protocol and db.
struct shared_lane {
  lane_key key;
  /// Where new requests go (null: none yet, or the last one failed or retired).
  std::shared_ptr<backend_link> current;
  /// When this lane last opened a connection (reconnects are rate-limited).
  std::chrono::steady_clock::time_point last_connect{};
};

/// One data thread's part of the proxy: touched only from that thread (except the counters).
struct thread_state {
  /// The shared connections by protocol and db: a few (db 0 in RESP2 and RESP3, mostly), at
  /// most --max-shared-lanes; lanes[0], when present, is usually the one asked for.
  std::vector<shared_lane> lanes;
  /// lanes.size(), for /metrics on another thread.
  std::atomic<std::size_t> lane_count{0};
  /// Bytes this thread's clients hold (session::memory()), as last measured (--maxmemory-clients).
  std::atomic<std::size_t> client_memory{0};
  /// Every shared connection still open on this thread (current and retiring ones).
  std::vector<std::weak_ptr<backend_link>> backends;
  /// Sessions with a backend connection of their own (closed or moved on a master switch).
  std::vector<std::weak_ptr<session>> pinned;
  /// Every session (drained on stop).
  std::unordered_set<session*> sessions;
  thread_counters counters;
};

struct server::state {
  state(net::runtime& r, settings s, master_tracker* t);
  net::runtime& rt;
  settings cfg;
  master_tracker* tracker;
  tcp::acceptor acceptor;      // plain RESP (closed when --listen is off)
  tcp::acceptor tls_acceptor;  // RESP over TLS (closed without --tls-listen)
  std::atomic<std::size_t> clients{0};
  std::atomic<std::size_t> pinned_now{0};
  std::size_t next_thread = 0;
  /// Control-thread counters (relaxed: each is read on its own).
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> accept_errors{0};
  /// TLS handshakes with clients that failed or timed out (a plaintext client on the TLS port,
  /// a certificate that does not verify), and the last time one was logged (ms since epoch).
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::int64_t> tls_failure_logged_ms{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> backend_errors{0};
  std::atomic<std::uint64_t> no_master{0};
  /// Requests that waited for a verified master (during a failover) before they were sent.
  std::atomic<std::uint64_t> held{0};
  /// The first reply from the newest master any backend connection has heard from: how long
  /// after the switch to it (ns), and its generation. The connection that claims a generation
  /// stores the figure, then the generation, so a reader that finds the current master's
  /// generation there reads that switch's figure. Everything comes from the master_info the
  /// connection was opened with: no window between the switch and its bookkeeping.
  std::atomic<std::uint64_t> first_reply_claimed{0};
  std::atomic<std::int64_t> first_reply_ns{-1};
  std::atomic<std::uint64_t> first_reply_generation{0};
  /// A backend connection to master `generation`, switched to at `since`, got its first reply.
  void first_reply(std::uint64_t generation, std::chrono::steady_clock::time_point since) {
    auto claimed = first_reply_claimed.load();
    while (generation > claimed) {
      if (first_reply_claimed.compare_exchange_weak(claimed, generation)) {
        first_reply_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - since)
                                 .count());
        first_reply_generation.store(generation);
        return;
      }
    }
  }
  std::atomic<std::uint64_t> killed_on_switch{0};
  std::atomic<std::uint64_t> master_changes{0};
  std::atomic<std::uint64_t> idle_closed{0};
  std::atomic<std::uint64_t> auth_timeouts{0};
  /// Commands rsm's command table does not know (each pinned its session).
  std::atomic<std::uint64_t> unknown_commands{0};
  /// Sessions pinned because their thread had --max-shared-lanes lanes already.
  std::atomic<std::uint64_t> lanes_full{0};
  /// The first --client-query-limit pause was logged.
  std::atomic<bool> query_paused_logged{false};
  std::atomic<bool> auth_timeout_logged{false};
  std::atomic<bool> eviction_logged{false};
  std::atomic<bool> partial_timeout_logged{false};
  /// CLIENT ID: the proxy's own numbering of client connections.
  std::atomic<std::uint64_t> next_client_id{0};
  std::atomic<bool> stopped{false};
  std::vector<std::unique_ptr<thread_state>> threads;
  /// --auth passthrough: the users clients authenticated as.
  user_registry users;

  /// What a backend connection of lane user `user` authenticates with: the proxy's own
  /// credentials (--auth local), else the client's user, or nobody (anonymous, and the
  /// authentication connection); TLS either way.
  redis::credentials credentials(std::uint32_t user) const {
    if (!cfg.auth_passthrough || (user == k_anonymous_user && cfg.anonymous_as_proxy))
      return cfg.backend_auth;
    redis::credentials c;
    if (user != k_anonymous_user && user != k_auth_checks) c = users.credentials(user);
    c.tls = cfg.backend_auth.tls;
    return c;
  }

  /// The master to use now: the tracker's verified one (null: none), or the static --master.
  std::shared_ptr<const master_info> master() const {
    if (tracker) return tracker->current();
    return std::make_shared<const master_info>(master_info{cfg.master, 0});
  }
  asio::io_context& context(std::size_t thread) {
    return rt.data_count() == 0 ? rt.control() : rt.data(thread);
  }
  thread_counters& counters(std::size_t thread) { return threads[thread]->counters; }
};

/// "no verified master for 'NAME' within 5s (...)": the error text for a request that waited
/// the whole --failover-hold.
std::string no_master_text(const settings& cfg);

}  // namespace rsm::proxy
