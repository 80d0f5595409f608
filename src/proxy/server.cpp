#include "rsm/proxy/server.hpp"

#include "rsm/log.hpp"
#include "rsm/proxy/master_tracker.hpp"
#include "rsm/redis/transport.hpp"
#include "rsm/resp/frame_parser.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace rsm::proxy {

struct server::state {
  state(net::runtime& r, settings s, master_tracker* t)
      : rt(r), cfg(std::move(s)), tracker(t), acceptor(r.control()), registries(std::max<std::size_t>(1, r.data_count())) {}
  net::runtime& rt;
  settings cfg;
  master_tracker* tracker;
  tcp::acceptor acceptor;
  std::atomic<std::size_t> clients{0};
  std::atomic<std::size_t> next_thread{0};
  /// Counters for /metrics (relaxed: each is read on its own).
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> backend_errors{0};
  std::atomic<std::uint64_t> no_master{0};
  std::atomic<std::uint64_t> killed_on_switch{0};
  std::atomic<std::uint64_t> master_changes{0};
  std::atomic<std::uint64_t> idle_closed{0};
  bool stopped = false;
  /// Per data thread, the sessions living there (touched only from that thread): closed when
  /// the master they were opened on is replaced, as Sentinel's CLIENT KILL would close them.
  struct registry {
    std::vector<std::weak_ptr<class session_base>> sessions;
  };
  std::vector<registry> registries;
};

class session_base {
 public:
  virtual ~session_base() = default;
  virtual std::uint64_t generation() const = 0;
  virtual void kill() = 0;
};

namespace {

// Constant-time comparison: the time taken does not depend on where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  }
  return diff == 0;
}

// The arguments of a whole, valid multibulk frame (only for the rare commands the proxy
// answers itself, such as AUTH).
std::vector<std::string> frame_args(std::string_view f) {
  std::vector<std::string> out;
  auto line = [&f]() {
    auto cr = f.find('\r');
    auto l = f.substr(1, cr - 1);
    f.remove_prefix(std::min(f.size(), cr + 2));
    return std::stoll(std::string(l));
  };
  if (f.empty() || f[0] != '*') return out;
  auto n = line();
  for (long long i = 0; i < n && !f.empty(); ++i) {
    auto len = static_cast<std::size_t>(line());
    out.emplace_back(f.substr(0, len));
    f.remove_prefix(std::min(f.size(), len + 2));
  }
  return out;
}

class session : public session_base, public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<server::state> st, tcp::socket client, std::size_t thread)
      : thread_(thread),
        st_(std::move(st)),
        client_(std::move(client)),
        backend_(client_.get_executor()),
        wake_(client_.get_executor(), asio::steady_timer::time_point::max()),
        authenticated_(st_->cfg.requirepass.empty()) {}

  static awaitable<void> run(std::shared_ptr<session> self) {
    co_await self->serve();
    self->close();
    --self->st_->clients;
  }

  std::uint64_t generation() const override { return generation_; }
  void kill() override {
    closed_ = true;
    close();
  }

 private:
  // The master to use: the tracker's (waiting up to failover-hold for one), or the static one.
  awaitable<std::optional<address>> pick_master() {
    if (!st_->tracker) co_return st_->cfg.master;
    auto until = std::chrono::steady_clock::now() + st_->cfg.failover_hold;
    for (;;) {
      if (auto m = st_->tracker->current()) {
        generation_ = m->generation;
        co_return m->addr;
      }
      if (std::chrono::steady_clock::now() >= until) co_return std::nullopt;
      asio::steady_timer t(client_.get_executor(), std::chrono::milliseconds(20));
      co_await t.async_wait(use_nothrow);
    }
  }

  awaitable<void> serve() {
    redis::options o;
    o.password = st_->cfg.password;
    o.connect_timeout = st_->cfg.connect_timeout;
    auto until = std::chrono::steady_clock::now() + st_->cfg.failover_hold;
    std::optional<result<redis::opened>> opened;
    for (;;) {
      auto master = co_await pick_master();
      if (!master) {
        st_->no_master.fetch_add(1, std::memory_order_relaxed);
        co_await write_client_now("-ERR rsm proxy: no verified master for '" + st_->cfg.master_name +
                                  "' within " + to_string(st_->cfg.failover_hold) +
                                  " (failover in progress, or the sentinels cannot be reached)\r\n");
        co_return;
      }
      o.server = *master;
      opened = co_await redis::async_open(o);
      if (*opened) break;
      st_->backend_errors.fetch_add(1, std::memory_order_relaxed);
      log::warn("proxy", "backend unavailable", {{"master", o.server.to_string()}, {"error", opened->error().message()}});
      if (!st_->tracker || std::chrono::steady_clock::now() >= until) {
        co_await write_client_now("-ERR rsm proxy: master " + o.server.to_string() + " unavailable: " +
                                  opened->error().message() + "\r\n");
        co_return;
      }
      // The master may have just gone: ask for a fresh look and try again within the hold.
      st_->tracker->suspect();
      asio::steady_timer t(client_.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(use_nothrow);
    }
    st_->registries[thread_].sessions.push_back(weak_from_this());
    backend_ = std::move((*opened)->socket);
    using namespace asio::experimental::awaitable_operators;
    co_await (client_to_backend() || backend_to_client() || client_writer());
  }

  void close() {
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_both, ignored);
    client_.close(ignored);
    backend_.close(ignored);
  }

  // ---- client → backend ------------------------------------------------------------------
  awaitable<void> client_to_backend() {
    std::string in;
    std::array<char, 64 * 1024> buf;
    for (;;) {
      // Process what we have: whole frames, or a large frame streamed once its name is known.
      while (!in.empty()) {
        auto step = parser_.parse(std::string_view(in).substr(parsed_));
        parsed_ += step.consumed;
        if (step.what == resp::parse_step::kind::error) {
          st_->protocol_errors.fetch_add(1, std::memory_order_relaxed);
          co_await answer(std::string("-") + parser_.error_message() + "\r\n");
          co_await flush_and_close();
          co_return;
        }
        if (step.what == resp::parse_step::kind::need_more) {
          if (streaming_ || parsed_ > 1024 * 1024) {
            // A frame too large to hold: its name is known by now; forward as it comes.
            if (!streaming_) {
              auto decision = co_await decide({});
              if (decision != verdict::forward) {
                co_await answer("-ERR rsm proxy: a " + std::to_string(parsed_) +
                                "-byte request that cannot be forwarded\r\n");
                co_await flush_and_close();
                co_return;
              }
              streaming_ = true;
            }
            if (!co_await to_backend(in.substr(0, parsed_))) co_return;
            in.erase(0, parsed_);
            parsed_ = 0;
          }
          break;
        }
        // A whole frame: in[0, parsed_).
        std::string frame = in.substr(0, parsed_);
        in.erase(0, parsed_);
        parsed_ = 0;
        if (streaming_) {
          streaming_ = false;
          ++outstanding_;
          if (!co_await to_backend(frame)) co_return;
          continue;
        }
        if (parser_.is_empty()) continue;  // Redis ignores empty commands
        auto decision = co_await decide(frame);
        if (decision == verdict::close) co_return;
        if (decision == verdict::answered) continue;
        if (!note_mode()) ++outstanding_;
        st_->commands.fetch_add(1, std::memory_order_relaxed);
        if (!co_await to_backend(frame)) co_return;
      }
      auto read = co_await read_client(buf);
      if (!read) co_return;
      in.append(buf.data(), *read);
    }
  }

  // The next bytes from the client. With --client-idle-timeout, a client that sends nothing for
  // that long while no reply is due (not blocked, not subscribed: as Redis's `timeout`) is
  // closed: nothing (an error or the idle close).
  awaitable<std::optional<std::size_t>> read_client(std::array<char, 64 * 1024>& buf) {
    auto idle = st_->cfg.client_idle_timeout;
    for (;;) {
      if (idle.count() <= 0) {
        auto [ec, n] = co_await client_.async_read_some(asio::buffer(buf), use_nothrow);
        if (ec) co_return std::nullopt;
        co_return n;
      }
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(client_.get_executor(), idle);
      auto r = co_await (client_.async_read_some(asio::buffer(buf), use_nothrow) || timer.async_wait(use_nothrow));
      if (r.index() == 0) {
        auto [ec, n] = std::get<0>(r);
        if (ec) co_return std::nullopt;
        co_return n;
      }
      if (outstanding_ == 0 && !unpaired_) {
        st_->idle_closed.fetch_add(1, std::memory_order_relaxed);
        close();
        co_return std::nullopt;
      }
    }
  }

  enum class verdict { forward, answered, close };

  // Decides about the current frame (`frame`: its bytes when held whole): answer it here, or
  // forward it.
  awaitable<verdict> decide(std::string frame) {
    const auto& name = parser_.name();
    if (name.equals_upper("QUIT")) {
      co_await answer("+OK\r\n");
      co_await flush_and_close();
      co_return verdict::close;
    }
    if (name.equals_upper("AUTH")) {
      if (st_->cfg.requirepass.empty()) {
        co_await answer("-ERR AUTH <password> called without any password configured for the default user. "
                        "Are you sure your configuration is correct?\r\n");
        co_return verdict::answered;
      }
      // AUTH pass, or AUTH default pass.
      auto args = parser_.is_inline() ? parser_.inline_args() : frame_args(frame);
      bool ok = false;
      if (args.size() == 2) ok = same_secret(args[1], st_->cfg.requirepass);
      if (args.size() == 3) ok = args[1] == "default" && same_secret(args[2], st_->cfg.requirepass);
      if (args.size() < 2 || args.size() > 3) {
        co_await answer("-ERR wrong number of arguments for 'auth' command\r\n");
        co_return verdict::answered;
      }
      authenticated_ = authenticated_ || ok;
      if (!ok) st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
      co_await answer(ok ? "+OK\r\n"
                         : "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
      co_return verdict::answered;
    }
    if (!authenticated_) {
      co_await answer("-NOAUTH Authentication required.\r\n");
      co_return verdict::answered;
    }
    if (auto refused = st_->cfg.commands.refusal(parser_.name().view(), parser_.first_arg().view())) {
      st_->refused.fetch_add(1, std::memory_order_relaxed);
      co_await answer("-" + *refused + "\r\n");
      co_return verdict::answered;
    }
    co_return verdict::forward;
  }

  // Commands after which replies no longer pair one-to-one with requests.
  bool note_mode() {
    const auto& n = parser_.name();
    if (n.equals_upper("SUBSCRIBE") || n.equals_upper("PSUBSCRIBE") || n.equals_upper("SSUBSCRIBE") ||
        n.equals_upper("MONITOR") || (n.equals_upper("CLIENT") && parser_.first_arg().equals_upper("REPLY"))) {
      unpaired_ = true;
    }
    return unpaired_;
  }

  awaitable<bool> to_backend(std::string bytes) {
    auto [ec, n] = co_await asio::async_write(backend_, asio::buffer(bytes), use_nothrow);
    co_return !ec;
  }

  // A local answer goes out after every reply still due from Redis, to keep the order.
  awaitable<void> answer(std::string bytes) {
    while (!unpaired_ && outstanding_ > 0 && !closed_) co_await wake_.async_wait(use_nothrow);
    queue_client(std::move(bytes));
  }

  // ---- backend → client ------------------------------------------------------------------
  awaitable<void> backend_to_client() {
    std::array<char, 64 * 1024> buf;
    for (;;) {
      // Slow client: stop reading Redis until it catches up.
      while (out_.size() > st_->cfg.client_output_soft_limit && !closed_) {
        co_await wake_.async_wait(use_nothrow);
      }
      auto [ec, n] = co_await backend_.async_read_some(asio::buffer(buf), use_nothrow);
      if (ec) {
        closed_ = true;
        co_return;
      }
      std::string_view data(buf.data(), n);
      if (!unpaired_) {
        std::size_t pos = 0;
        while (pos < data.size()) {
          auto step = replies_.parse(data.substr(pos));
          pos += step.consumed;
          if (step.what == resp::parse_step::kind::error) {
            log::warn("proxy", "backend sent malformed RESP", {{"error", replies_.error_message()}});
            closed_ = true;
            co_return;
          }
          if (step.what == resp::parse_step::kind::frame_end) {
            if (!replies_.is_push() && outstanding_ > 0) --outstanding_;
            // "Look the master up again now" (verbatim to the client all the same).
            if (st_->tracker && replies_.type() == '-') {
              auto e = replies_.error_prefix().view();
              if (e.starts_with("READONLY") || e.starts_with("LOADING") || e.starts_with("MASTERDOWN")) {
                st_->tracker->suspect();
              }
            }
          }
        }
        if (outstanding_ == 0) wake_.cancel();
      }
      queue_client(std::string(data));
    }
  }

  // ---- the client's single writer --------------------------------------------------------
  void queue_client(std::string bytes) {
    out_ += bytes;
    writer_wake_.cancel();
  }

  awaitable<void> client_writer() {
    std::string batch;
    for (;;) {
      if (out_.empty()) {
        if (closing_) co_return;
        co_await writer_wake_.async_wait(use_nothrow);
        if (out_.empty() && (closing_ || closed_)) co_return;
        continue;
      }
      batch.clear();
      std::swap(batch, out_);
      writing_ = true;
      auto [ec, n] = co_await asio::async_write(client_, asio::buffer(batch), use_nothrow);
      writing_ = false;
      if (ec) {
        closed_ = true;
        co_return;
      }
      wake_.cancel();  // room again for backend_to_client
    }
  }

  awaitable<void> write_client_now(std::string bytes) {
    co_await asio::async_write(client_, asio::buffer(bytes), use_nothrow);
  }

  // Lets the writer drain what is queued, then ends the session.
  awaitable<void> flush_and_close() {
    closing_ = true;
    writer_wake_.cancel();
    while ((!out_.empty() || writing_) && !closed_) co_await wake_.async_wait(use_nothrow);
  }

  std::size_t thread_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<server::state> st_;
  tcp::socket client_;
  tcp::socket backend_;
  resp::request_parser parser_;
  resp::reply_parser replies_;
  std::size_t parsed_ = 0;
  bool streaming_ = false;
  std::size_t outstanding_ = 0;
  bool unpaired_ = false;
  bool closed_ = false;
  bool closing_ = false;
  bool writing_ = false;
  std::string out_;
  /// Wakes whoever waits for a state change: replies due, room in out_, out_ drained.
  asio::steady_timer wake_;
  /// Wakes the writer (cancelled, never re-armed: its expiry stays at max).
  asio::steady_timer writer_wake_{client_.get_executor(), asio::steady_timer::time_point::max()};
  bool authenticated_;
};

}  // namespace

server::server(net::runtime& rt, settings s, master_tracker* tracker)
    : state_(std::make_shared<state>(rt, std::move(s), tracker)) {
  if (tracker) {
    std::weak_ptr<state> weak = state_;
    tracker->on_change([weak](std::shared_ptr<const master_info> m) {
      auto st = weak.lock();
      if (!st) return;
      st->master_changes.fetch_add(1, std::memory_order_relaxed);
      auto gen = m ? m->generation : ~std::uint64_t{0};
      // Each data thread closes its own sessions opened on an older master.
      for (std::size_t i = 0; i < st->registries.size(); ++i) {
        auto& ctx = st->rt.data_count() == 0 ? st->rt.control() : st->rt.data(i);
        asio::post(ctx, [st, i, gen] {
          auto& reg = st->registries[i].sessions;
          std::vector<std::weak_ptr<session_base>> keep;
          for (auto& w : reg) {
            auto s = w.lock();
            if (!s) continue;
            if (s->generation() < gen) {
              st->killed_on_switch.fetch_add(1, std::memory_order_relaxed);
              s->kill();
            } else {
              keep.push_back(w);
            }
          }
          reg = std::move(keep);
        });
      }
    });
  }
  auto host = state_->cfg.listen.host.empty() ? "0.0.0.0" : state_->cfg.listen.host;
  tcp::endpoint ep(asio::ip::make_address(host), state_->cfg.listen.port);
  state_->acceptor.open(ep.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(ep);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
}

server::~server() { stop(); }

address server::local_address() const {
  auto ep = state_->acceptor.local_endpoint();
  return {ep.address().to_string(), ep.port()};
}

std::size_t server::clients() const { return state_->clients.load(); }

void server::add_metrics(metrics::exposition& e) const {
  const auto& st = *state_;
  auto n = [](const std::atomic<std::uint64_t>& c) { return static_cast<double>(c.load(std::memory_order_relaxed)); };
  e.gauge("rsm_proxy_clients", "client connections open now", {}, static_cast<double>(st.clients.load()));
  e.gauge("rsm_proxy_max_clients", "the --max-clients limit", {}, static_cast<double>(st.cfg.max_clients));
  e.counter("rsm_proxy_connections_total", "client connections accepted", {}, n(st.connections));
  e.counter("rsm_proxy_rejected_connections_total", "connections refused at --max-clients", {}, n(st.rejected));
  e.counter("rsm_proxy_commands_total", "commands forwarded to the master", {}, n(st.commands));
  e.counter("rsm_proxy_refused_commands_total", "commands refused by the topology policy", {}, n(st.refused));
  e.counter("rsm_proxy_auth_failures_total", "AUTH attempts to the proxy with a wrong password", {}, n(st.auth_failures));
  e.counter("rsm_proxy_protocol_errors_total", "clients closed for a protocol error", {}, n(st.protocol_errors));
  e.counter("rsm_proxy_backend_errors_total", "failed connections to the master", {}, n(st.backend_errors));
  e.counter("rsm_proxy_no_master_total", "clients answered that no master was verified in time", {}, n(st.no_master));
  e.counter("rsm_proxy_idle_closed_total", "clients closed after --client-idle-timeout", {}, n(st.idle_closed));
  e.counter("rsm_proxy_sessions_closed_on_switch_total", "sessions closed because the master was replaced", {},
            n(st.killed_on_switch));
  if (st.tracker) {
    auto m = st.tracker->current();
    e.gauge("rsm_proxy_master_up", "1 when a verified master is known", {}, m ? 1 : 0);
    e.counter("rsm_proxy_master_changes_total", "changes of the verified master (including to none)", {},
              n(st.master_changes));
    if (m) e.gauge("rsm_proxy_master_info", "the verified master", {{"addr", m->addr.to_string()}}, 1);
  }
}

void server::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
}

awaitable<void> server::async_run() {
  auto st = state_;
  auto& rt = st->rt;
  while (!st->stopped) {
    auto i = rt.data_count() == 0 ? 0 : st->next_thread++ % rt.data_count();
    auto& ctx = rt.data_count() == 0 ? rt.control() : rt.data(i);
    auto [ec, socket] = co_await st->acceptor.async_accept(ctx, use_nothrow);
    if (ec) {
      if (st->stopped || ec == asio::error::operation_aborted) co_return;
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (st->clients.load() >= st->cfg.max_clients) {
      // As Redis answers past maxclients.
      static const std::string full = "-ERR max number of clients reached\r\n";
      st->rejected.fetch_add(1, std::memory_order_relaxed);
      asio::write(socket, asio::buffer(full), ignored);
      socket.close(ignored);
      continue;
    }
    ++st->clients;
    st->connections.fetch_add(1, std::memory_order_relaxed);
    auto s = std::make_shared<session>(st, std::move(socket), rt.data_count() == 0 ? 0 : i);
    asio::co_spawn(ctx, session::run(s), asio::detached);
  }
}

}  // namespace rsm::proxy
