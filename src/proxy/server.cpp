#include "rsm/proxy/server.hpp"

#include "backend_link.hpp"
#include "rsm/log.hpp"
#include "rsm/net/backoff.hpp"
#include "rsm/net/stream.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/proxy/client_budget.hpp"
#include "rsm/proxy/master_tracker.hpp"
#include "session.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace rsm::proxy {

server::state::state(net::runtime& r, settings s, master_tracker* t)
    : rt(r), cfg(std::move(s)), tracker(t), acceptor(r.control()), tls_acceptor(r.control()) {
  auto n = std::max<std::size_t>(1, r.data_count());
  for (std::size_t i = 0; i < n; ++i) threads.push_back(std::make_unique<thread_state>());
}

std::string no_master_text(const settings& cfg) {
  return "no verified master for '" + cfg.master_name + "' within " + to_string(cfg.failover_hold) +
         " (failover in progress, or the sentinels cannot be reached)";
}

namespace {

// On data thread `i`: the master is now `m` (null: none verified).
// - None verified (the master stopped answering ROLE, or said it is not the master): shared
//   connections to it take no new requests, and what they still owe may come within
//   --failover-hold (a stalled master that comes back as the master answers legitimately).
// - Another master verified: what the old one still owes is answered with an error at once. A
//   reply it sent later (it woke from a stall, or it was still taking writes before Sentinel
//   demoted it) would acknowledge a write the new master never saw.
// Pinned sessions on an older master move to the new one, or are closed.
void master_changed(const std::shared_ptr<server::state>& st, std::size_t i,
                    const std::shared_ptr<const master_info>& m) {
  auto& t = *st->threads[i];
  for (auto& w : t.backends) {
    auto b = w.lock();
    if (!b || !b->connected()) continue;  // still connecting: it checks itself
    if (m && b->master() == m->addr) continue;
    for (auto& l : t.lanes) {
      if (l.current == b) l.current.reset();
    }
    if (m) {
      b->demoted(m->addr);
    } else {
      b->retire(st->cfg.failover_hold);
    }
  }
  std::erase_if(t.backends, [](const auto& w) { return w.expired(); });
  auto gen = m ? m->generation : ~std::uint64_t{0};
  std::erase_if(t.pinned, [gen](const std::weak_ptr<session>& w) {
    auto s = w.lock();
    return !s || !s->on_master_change(gen);
  });
}

void listen_on(tcp::acceptor& acceptor, const address& at) {
  auto host = at.host.empty() ? "0.0.0.0" : at.host;
  tcp::endpoint ep(asio::ip::make_address(host), at.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

address bound_address(const tcp::acceptor& acceptor) {
  error_code ec;
  auto ep = acceptor.local_endpoint(ec);
  if (ec) return {};
  return {ep.address().to_string(), ep.port()};
}

}  // namespace

server::server(net::runtime& rt, settings s, master_tracker* tracker)
    : state_(std::make_shared<state>(rt, std::move(s), tracker)) {
  if (tracker) {
    std::weak_ptr<state> weak = state_;
    tracker->on_change([weak](std::shared_ptr<const master_info> m) {
      auto st = weak.lock();
      if (!st) return;
      st->master_changes.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t i = 0; i < st->threads.size(); ++i) {
        asio::post(st->context(i), [st, i, m] { master_changed(st, i, m); });
      }
    });
  }
  if (!state_->cfg.plain_off) listen_on(state_->acceptor, state_->cfg.listen);
  if (state_->cfg.tls_listen) listen_on(state_->tls_acceptor, *state_->cfg.tls_listen);
}

server::~server() {
  stop();
  // The runtime has run (its data threads are joined): break the reference cycles between the
  // threads' shared connections, the sessions waiting on them, and this state.
  for (auto& t : state_->threads) {
    for (auto& w : t->backends) {
      if (auto b = w.lock()) b->abandon();
    }
    t->backends.clear();
    t->lanes.clear();
  }
}

address server::local_address() const {
  return bound_address(state_->acceptor);
}

address server::tls_local_address() const {
  return bound_address(state_->tls_acceptor);
}

std::size_t server::clients() const {
  return state_->clients.load();
}

void server::add_metrics(metrics::exposition& e) const {
  const auto& st = *state_;
  auto n = [](const std::atomic<std::uint64_t>& c) {
    return static_cast<double>(c.load(std::memory_order_relaxed));
  };
  auto sum = [&st](std::atomic<std::uint64_t> thread_counters::*c) {
    double total = 0;
    for (const auto& t : st.threads)
      total += static_cast<double>((t->counters.*c).load(std::memory_order_relaxed));
    return total;
  };
  e.gauge("rsm_proxy_clients", "client connections open now", {},
          static_cast<double>(st.clients.load()));
  double client_memory = 0;
  for (const auto& t : st.threads)
    client_memory += static_cast<double>(t->client_memory.load(std::memory_order_relaxed));
  e.gauge("rsm_proxy_client_memory_bytes",
          "bytes the clients' request and reply buffers hold (measured every 100 ms with "
          "--maxmemory-clients, else every second)",
          {}, client_memory);
  e.gauge("rsm_proxy_maxmemory_clients_bytes", "--maxmemory-clients (0: no budget)", {},
          static_cast<double>(st.cfg.maxmemory_clients));
  e.counter("rsm_proxy_clients_evicted_total",
            "clients closed, largest first, because all clients together held more than "
            "--maxmemory-clients",
            {}, sum(&thread_counters::evicted));
  e.counter("rsm_proxy_partial_request_timeouts_total",
            "clients closed for holding part of a request longer than --partial-request-timeout",
            {}, sum(&thread_counters::partial_timeouts));
  e.counter("rsm_proxy_tls_handshake_failures_total",
            "client TLS handshakes that failed or timed out (plaintext on the TLS port, a "
            "certificate that does not verify)",
            {}, n(st.tls_handshake_failures));
  if (st.cfg.tls) {
    e.counter("rsm_proxy_tls_reloads_total", "times SIGHUP reloaded the listener's certificates",
              {}, static_cast<double>(st.cfg.tls->reloads()));
  }
  e.gauge("rsm_proxy_max_clients", "the --max-clients limit", {},
          static_cast<double>(st.cfg.max_clients));
  e.gauge("rsm_proxy_pinned_clients", "clients with a backend connection of their own now", {},
          static_cast<double>(st.pinned_now.load()));
  e.counter("rsm_proxy_connections_total", "client connections accepted", {}, n(st.connections));
  e.counter("rsm_proxy_rejected_connections_total", "connections refused at --max-clients", {},
            n(st.rejected));
  e.counter("rsm_proxy_accept_errors_total",
            "accept errors (out of descriptors or memory); the accept loop backs off", {},
            n(st.accept_errors));
  e.counter("rsm_proxy_commands_total", "commands forwarded to the master", {},
            sum(&thread_counters::commands));
  e.counter("rsm_proxy_client_bytes_in_total", "bytes read from clients", {},
            sum(&thread_counters::bytes_in));
  e.counter("rsm_proxy_client_bytes_out_total", "bytes written to clients", {},
            sum(&thread_counters::bytes_out));
  e.counter("rsm_proxy_backend_connects_total", "backend connections opened (shared and pinned)",
            {}, sum(&thread_counters::backend_connects));
  e.counter("rsm_proxy_shared_batches_total",
            "writes to shared backend connections, each a batch of requests", {},
            sum(&thread_counters::backend_writes));
  e.counter("rsm_proxy_pinned_total",
            "clients moved from the shared connection to one of their own", {},
            sum(&thread_counters::pinned));
  e.counter("rsm_proxy_lost_replies_total",
            "error replies for requests whose shared connection failed", {},
            sum(&thread_counters::lost_replies));
  e.counter("rsm_proxy_slow_clients_closed_total", "clients closed for not reading their replies",
            {}, sum(&thread_counters::slow_closed));
  e.counter("rsm_proxy_reply_timeouts_total",
            "shared connections failed because the master owed replies for --reply-timeout", {},
            sum(&thread_counters::reply_timeouts));
  e.counter("rsm_proxy_ends_revealed_total",
            "client or backend connections whose end of stream only the once-a-second sweep "
            "found (it came with their last data)",
            {}, sum(&thread_counters::ends_revealed));
  e.counter("rsm_proxy_client_query_pauses_total",
            "times a client was not read because it had --client-query-limit request bytes "
            "unanswered",
            {}, sum(&thread_counters::query_paused));
  e.counter("rsm_proxy_sessions_moved_on_switch_total",
            "idle pinned sessions reopened on a new master", {}, sum(&thread_counters::migrated));
  e.counter("rsm_proxy_refused_commands_total", "commands refused by the topology policy", {},
            n(st.refused));
  e.counter("rsm_proxy_auth_failures_total", "AUTH attempts to the proxy with a wrong password", {},
            n(st.auth_failures));
  e.counter("rsm_proxy_protocol_errors_total", "clients closed for a protocol error", {},
            n(st.protocol_errors));
  e.counter("rsm_proxy_backend_errors_total", "failed connections to the master", {},
            n(st.backend_errors));
  e.counter("rsm_proxy_no_master_total", "requests answered that no master was verified in time",
            {}, n(st.no_master));
  e.counter("rsm_proxy_requests_held_total",
            "requests that waited for a verified master before being sent", {}, n(st.held));
  if (auto m = st.tracker ? st.tracker->current() : nullptr;
      m && st.first_reply_generation.load() == m->generation) {
    e.gauge("rsm_proxy_switch_to_first_reply_seconds",
            "from the switch to the current master to the first reply from it", {},
            static_cast<double>(st.first_reply_ns.load()) / 1e9);
  }
  e.counter("rsm_proxy_unknown_commands_total",
            "commands the command table does not know (each pinned its session; a CLIENT "
            "subcommand is answered as Redis 7.0 answers it)",
            {}, n(st.unknown_commands));
  e.counter("rsm_proxy_lanes_full_total",
            "sessions given a connection of their own because their thread had "
            "--max-shared-lanes shared connections (protocol and db pairs) already",
            {}, n(st.lanes_full));
  std::size_t lanes = 0;
  for (const auto& t : st.threads) lanes += t->lane_count.load(std::memory_order_relaxed);
  e.gauge("rsm_proxy_shared_lanes", "shared connections (one per thread, protocol and db in use)",
          {}, static_cast<double>(lanes));
  e.counter("rsm_proxy_idle_closed_total", "clients closed after --client-idle-timeout", {},
            n(st.idle_closed));
  e.counter("rsm_proxy_auth_timeouts_total",
            "clients closed for not authenticating within --auth-timeout", {}, n(st.auth_timeouts));
  e.counter("rsm_proxy_sessions_closed_on_switch_total",
            "sessions closed because the master was replaced", {}, n(st.killed_on_switch));
  if (st.tracker) {
    auto m = st.tracker->current();
    e.gauge("rsm_proxy_master_up", "1 when a verified master is known", {}, m ? 1 : 0);
    e.counter("rsm_proxy_master_changes_total",
              "changes of the verified master (including to none)", {}, n(st.master_changes));
    if (m)
      e.gauge("rsm_proxy_master_info", "the verified master", {{"addr", m->addr.to_string()}}, 1);
    auto health = st.tracker->sentinels();
    e.gauge("rsm_proxy_sentinels", "sentinels known (from discovery)", {}, health.known);
    e.gauge("rsm_proxy_sentinels_answering", "sentinels that answered the last resolution", {},
            health.answering);
    e.gauge("rsm_proxy_fenced",
            "1 while writes are refused: no majority of the sentinels answered for --fence-after",
            {}, st.tracker->fence_flag()->load() ? 1 : 0);
  }
}

void server::stop() {
  if (state_->stopped.exchange(true)) return;
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->tls_acceptor.close(ignored);
  // Graceful drain: every session answers what is due, then closes.
  auto st = state_;
  for (std::size_t i = 0; i < st->threads.size(); ++i) {
    asio::post(st->context(i), [st, i] {
      std::vector<session*> all(st->threads[i]->sessions.begin(), st->threads[i]->sessions.end());
      for (auto* s : all) s->drain();
    });
  }
}

namespace {

// Once a second per data thread: every client and backend socket whose read has not completed
// since the last sweep is checked for an end of stream no epoll edge will report
// (drained_read.hpp).
awaitable<void> sweep(std::shared_ptr<server::state> st, std::size_t thread) {
  asio::steady_timer timer(st->context(thread));
  auto& t = *st->threads[thread];
  while (!st->stopped) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(use_nothrow);
    if (st->stopped) break;
    std::size_t found = 0;
    for (auto* s : t.sessions) found += s->sweep();
    for (const auto& w : t.backends) {
      if (auto b = w.lock()) found += b->sweep();
    }
    if (found > 0) t.counters.add(t.counters.ends_revealed, found);
    if (st->cfg.maxmemory_clients == 0) {  // no budget: measured for /metrics only
      std::size_t total = 0;
      for (auto* s : t.sessions) total += s->memory();
      t.client_memory.store(total, std::memory_order_relaxed);
    }
  }
}

// --maxmemory-clients, every 100 ms per data thread: its clients' bytes are measured and
// published; when every thread's together pass the budget, this thread closes its largest
// clients until its share of the excess is freed (client_budget.hpp).
awaitable<void> shed(std::shared_ptr<server::state> st, std::size_t thread) {
  // A client at or under this (an idle read buffer, a small reply) is never closed for memory.
  constexpr std::size_t k_floor = 16 * 1024;
  asio::steady_timer timer(st->context(thread));
  auto& t = *st->threads[thread];
  std::vector<session*> who;
  std::vector<std::size_t> sizes;
  while (!st->stopped) {
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(use_nothrow);
    if (st->stopped) break;
    who.clear();
    sizes.clear();
    std::size_t total = 0;
    for (auto* s : t.sessions) {
      auto m = s->memory();
      who.push_back(s);
      sizes.push_back(m);
      total += m;
    }
    t.client_memory.store(total, std::memory_order_relaxed);
    std::size_t global = 0;
    for (const auto& other : st->threads)
      global += other->client_memory.load(std::memory_order_relaxed);
    auto chosen = clients_to_shed(sizes, total, global, st->cfg.maxmemory_clients, k_floor);
    if (chosen.empty()) continue;
    if (!st->eviction_logged.exchange(true)) {
      log::warn("proxy",
                "the clients' buffers together passed --maxmemory-clients: the largest clients "
                "are closed (counted in rsm_proxy_clients_evicted_total)",
                {{"maxmemory_clients", st->cfg.maxmemory_clients}, {"held", global}});
    }
    std::size_t freed = 0;
    for (auto i : chosen) {
      who[i]->evict();
      freed += sizes[i];
    }
    t.client_memory.store(total - std::min(total, freed), std::memory_order_relaxed);
  }
}

// A client on the TLS listener, on its data thread: the handshake within
// --tls-handshake-timeout, then its session. It counts as a client from accept (it holds a
// descriptor); a failed handshake is counted and logged at most once a second.
awaitable<void> tls_session(std::shared_ptr<server::state> st, tcp::socket socket, std::size_t i) {
  net::stream client(std::move(socket), st->cfg.tls->context());
  // Built before the co_await: no temporaries inside it (GCC 12).
  auto handshake = client.async_handshake(net::ssl::stream_base::server, std::string());
  error timed_out(errc::timed_out, "TLS handshake: timed out");
  auto done =
      co_await net::with_timeout(std::move(handshake), st->cfg.tls_handshake_timeout, timed_out);
  if (!done) {
    st->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    auto last = st->tls_failure_logged_ms.load();
    if (now_ms - last >= 1000 && st->tls_failure_logged_ms.compare_exchange_strong(last, now_ms)) {
      error_code ec;
      auto peer = client.socket().remote_endpoint(ec);
      log::warn(
          "proxy",
          "TLS handshake with a client failed (counted in rsm_proxy_tls_handshake_failures_total)",
          {{"client", ec ? std::string("?") : peer.address().to_string()},
           {"error", done.error().detail}});
    }
    client.close();
    --st->clients;
    co_return;
  }
  auto s = std::make_shared<session>(st, std::move(client), i);
  auto run = session::run(std::move(s));  // not a shared_ptr temporary in co_await (GCC 12)
  co_await std::move(run);
}

// Accepts on `acceptor` until stopped, spreading clients over the data threads.
awaitable<void> accept_loop(std::shared_ptr<server::state> st, tcp::acceptor& acceptor, bool tls) {
  auto& rt = st->rt;
  asio::steady_timer pause(co_await asio::this_coro::executor);
  net::backoff delays(std::chrono::milliseconds(10), std::chrono::seconds(1));
  auto last_log = std::chrono::steady_clock::time_point{};
  while (!st->stopped) {
    auto i = rt.data_count() == 0 ? 0 : st->next_thread++ % rt.data_count();
    auto& ctx = st->context(i);
    auto [ec, socket] = co_await acceptor.async_accept(ctx, use_nothrow);
    if (ec) {
      if (st->stopped || ec == asio::error::operation_aborted) break;
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) break;
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the error repeats at
      // once while the connection waits in the backlog; back off (net::backoff: 10 ms doubling to 1
      // s) instead of spinning, and say so at most once a second.
      st->accept_errors.fetch_add(1, std::memory_order_relaxed);
      const auto wait = delays.next();
      if (auto now = std::chrono::steady_clock::now(); now - last_log >= std::chrono::seconds(1)) {
        last_log = now;
        log::error("proxy", "accept failed; backing off",
                   {{"error", ec.message()},
                    {"clients", std::to_string(st->clients.load())},
                    {"for", to_string(wait)}});
      }
      pause.expires_after(wait);
      if (auto [pec] = co_await pause.async_wait(use_nothrow); pec) break;
      continue;
    }
    delays.reset();
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (st->clients.load() >= st->cfg.max_clients) {
      // As Redis answers past maxclients (a TLS client, which could not read it before its
      // handshake, is closed).
      static const std::string full = "-ERR max number of clients reached\r\n";
      st->rejected.fetch_add(1, std::memory_order_relaxed);
      if (!tls) asio::write(socket, asio::buffer(full), ignored);
      socket.close(ignored);
      continue;
    }
    ++st->clients;
    st->connections.fetch_add(1, std::memory_order_relaxed);
    if (tls) {
      asio::co_spawn(ctx, tls_session(st, std::move(socket), i), asio::detached);
      continue;
    }
    auto s = std::make_shared<session>(st, net::stream(std::move(socket)), i);
    // The coroutine holds the only reference: the session ends (and leaves its thread's
    // sessions) on its own data thread, never here on the control thread.
    asio::co_spawn(ctx, session::run(std::move(s)), asio::detached);
  }
}

}  // namespace

awaitable<void> server::async_run() {
  auto st = state_;
  for (std::size_t i = 0; i < st->threads.size(); ++i) {
    asio::co_spawn(st->context(i), sweep(st, i), asio::detached);
    if (st->cfg.maxmemory_clients > 0) asio::co_spawn(st->context(i), shed(st, i), asio::detached);
  }
  if (st->acceptor.is_open() && st->tls_acceptor.is_open()) {
    using namespace asio::experimental::awaitable_operators;
    co_await (accept_loop(st, st->acceptor, false) && accept_loop(st, st->tls_acceptor, true));
  } else if (st->tls_acceptor.is_open()) {
    co_await accept_loop(st, st->tls_acceptor, true);
  } else {
    co_await accept_loop(st, st->acceptor, false);
  }
  // Graceful drain: this task (and so the process) ends once every session has answered what
  // was due and closed (stop() told them to); the runtime's stop deadline bounds the wait.
  stop();
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (st->clients.load() > 0) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(use_nothrow);
  }
}

}  // namespace rsm::proxy
