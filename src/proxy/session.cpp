#include "session.hpp"

#include "drained_read.hpp"
#include "master_connect.hpp"

#include "rsm/log.hpp"
#include "rsm/proxy/client_state.hpp"
#include "rsm/proxy/reply_rewrite.hpp"
#include "rsm/redis/transport.hpp"
#include "rsm/resp/command.hpp"

#include <cctype>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>

namespace rsm::proxy {

namespace {

// Read buffers start small (an idle connection holds 4 KiB, not 64), double while reads fill
// them, and go back to the small size once a read uses less than an eighth of a big one.
constexpr std::size_t k_read_min = 4 * 1024;
constexpr std::size_t k_read_size = 64 * 1024;

/// The size for the next read into a buffer of `size` bytes holding `held` bytes, after the
/// last read of `got` bytes filled (`filled`) or did not fill the space it had.
std::size_t next_read_size(std::size_t size, std::size_t held, std::size_t got, bool filled) {
  if (held == 0 && size > k_read_min && !filled && got < size / 8) return k_read_min;
  if (size - held < k_read_min / 4 || (filled && size < k_read_size))
    return std::max(size * 2, held + k_read_min);
  return size;
}
/// A request longer than this is not held whole: it streams through a pinned connection.
constexpr std::size_t k_large_frame = 1024 * 1024;

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
  auto line = [&f]() -> long long {
    auto cr = f.find('\r');
    if (cr == std::string_view::npos) return 0;
    auto l = f.substr(1, cr - 1);
    f.remove_prefix(std::min(f.size(), cr + 2));
    long long n = 0;
    for (char c : l) {
      if (c < '0' || c > '9') return 0;
      n = n * 10 + (c - '0');
    }
    return n;
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

bool asks_for_a_new_master(std::string_view e) {
  return e.starts_with("READONLY") || e.starts_with("LOADING") || e.starts_with("MASTERDOWN");
}

}  // namespace

session::session(std::shared_ptr<server::state> st, tcp::socket client, std::size_t thread)
    : st_(std::move(st)),
      thread_(thread),
      client_(std::move(client)),
      authenticated_(st_->cfg.requirepass.empty()),
      id_(st_->next_client_id.fetch_add(1, std::memory_order_relaxed) + 1),
      pinned_(st_->cfg.backend == backend_mode::dedicated),
      backend_(client_.get_executor()),
      writer_wake_(client_.get_executor(), asio::steady_timer::time_point::max()),
      wake_(client_.get_executor(), asio::steady_timer::time_point::max()) {}

session::~session() {
  if (registered_) ts().sessions.erase(this);
  if (pinned_) --st_->pinned_now;
}

awaitable<void> session::run(std::shared_ptr<session> self) {
  self->ts().sessions.insert(self.get());
  self->registered_ = true;
  if (self->pinned_) ++self->st_->pinned_now;
  asio::co_spawn(self->client_.get_executor(), client_writer(self), asio::detached);
  co_await self->client_loop();
  self->close();
  --self->st_->clients;
}

// ---- requests ---------------------------------------------------------------------------

awaitable<void> session::client_loop() {
  buf_.resize(k_read_min);
  std::size_t scan = 0;  // the parser's position
  std::size_t got = 0;   // the last read's size, and whether it filled the space it had
  bool filled = false;
  // Non-blocking, for the inline reply writes (queue_client).
  error_code nb;
  client_.non_blocking(true, nb);
  drained_reader reads(client_);
  for (;;) {
    while (scan < end_) {
      auto step = parser_.parse(std::string_view(buf_.data() + scan, end_ - scan));
      scan += step.consumed;
      if (step.what == resp::parse_step::kind::error) {
        st_->protocol_errors.fetch_add(1, std::memory_order_relaxed);
        if (!co_await flush()) co_return;
        co_await answer("-" + parser_.error_message() + "\r\n");
        co_await flush_and_close();
        co_return;
      }
      if (step.what == resp::parse_step::kind::need_more) {
        if (!streaming_ && scan - frame_ > k_large_frame) {
          // A frame too large to hold: its name is known by now; it streams as it comes,
          // through a connection of this session's own.
          if (!co_await flush()) co_return;
          auto t = classify(parser_.name(), parser_.first_arg(), parser_.argc());
          if (decide({}, t)) {
            co_await answer("-ERR rsm proxy: a " + std::to_string(scan - frame_) +
                            "-byte request that cannot be forwarded\r\n");
            co_await flush_and_close();
            co_return;
          }
          if (!pinned_ && !co_await pin()) co_return;
          note(t);
          counters().add(counters().commands);
          streaming_ = true;
          if (!co_await to_backend({}, unpaired_ ? 0 : 1)) co_return;
        }
        if (streaming_) {
          if (!co_await to_backend(std::string_view(buf_.data() + frame_, scan - frame_), 0))
            co_return;
          frame_ = fwd_begin_ = scan;
        }
        break;
      }
      // A whole frame: buf_[frame_, scan).
      std::string_view f(buf_.data() + frame_, scan - frame_);
      if (streaming_) {
        streaming_ = false;
        if (!co_await to_backend(f, 0)) co_return;
        frame_ = fwd_begin_ = scan;
        continue;
      }
      if (parser_.is_empty()) {  // Redis ignores empty commands
        if (!co_await flush()) co_return;
        frame_ = fwd_begin_ = scan;
        continue;
      }
      auto t = classify(parser_.name(), parser_.first_arg(), parser_.argc());
      // What changes the session's protocol or db goes after every request before it (they
      // were sent in the protocol and db they were meant for).
      if ((t.hello || t.resets || t.selects) && !t.bad_arity) {
        if (!co_await flush()) co_return;
        if (t.resets) {
          frame_ = fwd_begin_ = scan;
          co_await reset();
          continue;
        }
      }
      if (auto local = decide(f, t)) {
        if (!co_await flush()) co_return;
        frame_ = fwd_begin_ = scan;
        if (local->forward) {
          // HELLO's reply gets the session's id (CLIENT ID's), not the shared connection's.
          bool ok = t.hello && !unpaired_
                        ? co_await rewritten(std::move(local->text), rewrite::hello)
                        : co_await forward(std::move(local->text), unpaired_ ? 0 : 1);
          if (!ok) co_return;
          continue;
        }
        co_await answer(std::move(local->text));
        if (local->close) {
          co_await flush_and_close();
          co_return;
        }
        continue;
      }
      if (t.redacts && !t.bad_arity) {
        // Its reply is rewritten: it goes alone (after every reply due, nothing after it
        // until its reply has come).
        frame_ = fwd_begin_ = scan;
        if (in_multi_ || unpaired_) {
          // Its reply would come inside EXEC's, or among pushes: it could not be redacted.
          if (!co_await flush()) co_return;
          multi_dirty_ = multi_dirty_ || in_multi_;
          st_->refused.fetch_add(1, std::memory_order_relaxed);
          co_await answer(
              "-ERR rsm proxy: CONFIG GET is not allowed in MULTI or while subscribed (its reply "
              "could not be redacted)\r\n");
          continue;
        }
        auto bytes = parser_.is_inline() ? resp::encode(resp::command(parser_.inline_args()))
                                         : std::string(f);
        if (!co_await rewritten(std::move(bytes), rewrite::redact)) co_return;
        continue;
      }
      if (t.ends_multi && in_multi_ && multi_dirty_ && parser_.name().equals_upper("EXEC")) {
        // The proxy refused a command of this transaction: Redis must not run the rest. It
        // gets DISCARD, the client Redis's answer to a transaction with a rejected command.
        frame_ = fwd_begin_ = scan;
        note(t);
        if (!co_await rewritten(resp::encode(resp::command{"DISCARD"}), rewrite::execabort))
          co_return;
        continue;
      }
      if (t.unknown) st_->unknown_commands.fetch_add(1, std::memory_order_relaxed);
      if (t.pins && !pinned_) {
        if (!co_await flush()) co_return;
        if (!co_await pin()) co_return;
      }
      note(t);
      if (t.selects && !pinned_ && t.db >= 0 && t.db != db_) {
        // Another db: Redis checks the SELECT on this session's shared connection first.
        frame_ = fwd_begin_ = scan;
        auto bytes = parser_.is_inline() ? resp::encode(resp::command(parser_.inline_args()))
                                         : std::string(f);
        if (!co_await select_shared(std::move(bytes), t.db)) co_return;
        continue;
      }
      if (pinned_ && t.selects && t.db >= 0 && !unpaired_)
        selects_.emplace_back(requests_sent_ + fwd_replies_, t.db);
      if (parser_.is_inline()) {
        // Redis gets the arguments the proxy classified, not a line to split again its own way.
        if (!co_await flush()) co_return;
        frame_ = fwd_begin_ = scan;
        auto framed = resp::encode(resp::command(parser_.inline_args()));
        if (!co_await forward(std::move(framed), unpaired_ ? 0 : 1)) co_return;
        continue;
      }
      if (!unpaired_) ++fwd_replies_;
      ++fwd_commands_;
      frame_ = scan;
    }
    if (!submit()) {
      if (!co_await flush()) co_return;
    }
    // Keep only the frame in progress, at the front.
    if (frame_ > 0) {
      std::memmove(buf_.data(), buf_.data() + frame_, end_ - frame_);
      scan -= frame_;
      end_ -= frame_;
      frame_ = fwd_begin_ = 0;
    }
    // Backpressure: a client that does not read its replies, or that has a lot in flight on
    // the shared connection, is not read until that clears.
    while (!closed_ && (buffered() > st_->cfg.client_output_soft_limit ||
                        (outstanding_ > 0 && inflight_bytes_ > st_->cfg.client_query_limit))) {
      co_await wait();
    }
    if (closed_) co_return;
    if (auto size = next_read_size(buf_.size(), end_, got, filled); size != buf_.size()) {
      if (size < buf_.size()) {
        buf_ = std::vector<char>(size);
      } else {
        buf_.resize(size);
      }
    }
    auto space = buf_.size() - end_;
    std::size_t n = 0;
    if (st_->cfg.client_idle_timeout.count() <= 0) {
      // The common case, without a helper coroutine per read (and without the recv that would
      // find nothing: drained_read.hpp).
      auto [ec, r] =
          co_await reads.async_read(asio::buffer(buf_.data() + end_, space), use_nothrow);
      if (ec) co_return;
      n = r;
    } else {
      auto r = co_await read_client(end_);
      if (!r) co_return;
      n = *r;
    }
    end_ += n;
    got = n;
    filled = n == space;
    counters().add(counters().bytes_in, n);
  }
}

// The next bytes from the client, read into buf_ at `at`. With --client-idle-timeout, a client
// that sends nothing for that long while no reply is due (not blocked, not subscribed: as
// Redis's `timeout`) is closed: nothing (an error or the idle close).
awaitable<std::optional<std::size_t>> session::read_client(std::size_t at) {
  auto buffer = asio::buffer(buf_.data() + at, buf_.size() - at);
  auto idle = st_->cfg.client_idle_timeout;
  for (;;) {
    if (idle.count() <= 0) {
      auto [ec, n] = co_await client_.async_read_some(buffer, use_nothrow);
      if (ec) co_return std::nullopt;
      co_return n;
    }
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(client_.get_executor(), idle);
    auto r =
        co_await (client_.async_read_some(buffer, use_nothrow) || timer.async_wait(use_nothrow));
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

// Whether the proxy answers this frame itself (`frame`: its bytes when held whole).
std::optional<session::local_answer> session::decide(std::string_view frame,
                                                     const command_traits& t) {
  const auto& name = parser_.name();
  if (name.equals_upper("QUIT")) return local_answer{"+OK\r\n", true};
  if (t.hello) return hello(frame);
  if (name.equals_upper("AUTH")) {
    auto args = parser_.is_inline() ? parser_.inline_args() : frame_args(frame);
    if (args.size() < 2 || args.size() > 3)
      return local_answer{"-ERR wrong number of arguments for 'auth' command\r\n"};
    if (st_->cfg.requirepass.empty() && args.size() == 3) {
      // The default user without a password takes any; there is no other user.
      bool ok = args[1] == "default";
      if (!ok) st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
      return local_answer{
          ok ? "+OK\r\n" : "-WRONGPASS invalid username-password pair or user is disabled.\r\n"};
    }
    if (st_->cfg.requirepass.empty()) {
      return local_answer{
          "-ERR AUTH <password> called without any password configured for the default user. "
          "Are you sure your configuration is correct?\r\n"};
    }
    // AUTH pass, or AUTH default pass.
    bool ok = args.size() == 2 ? same_secret(args[1], st_->cfg.requirepass)
                               : args[1] == "default" && same_secret(args[2], st_->cfg.requirepass);
    authenticated_ = authenticated_ || ok;
    if (!ok) st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
    return local_answer{ok ? "+OK\r\n"
                           : "-WRONGPASS invalid username-password pair or user is disabled.\r\n"};
  }
  if (!authenticated_) {
    // Redis checks the arity first (and so must the proxy: the backend is authenticated).
    if (t.bad_arity && t.info)
      return local_answer{"-ERR wrong number of arguments for '" + t.info->name + "' command\r\n"};
    // What Redis 7.0 does not have (rsm's facts name a newer one: CLIENT SETINFO) is unknown.
    if (t.unknown || (t.info && !t.info->in_redis))
      return local_answer{"-" + unknown_error(frame, t) + "\r\n"};
    return local_answer{"-NOAUTH Authentication required.\r\n"};
  }
  if (auto refused = st_->cfg.commands.refusal(name.view(), parser_.first_arg().view())) {
    st_->refused.fetch_add(1, std::memory_order_relaxed);
    if (in_multi_) multi_dirty_ = true;  // EXEC fails with EXECABORT, as in Redis
    return local_answer{"-" + *refused + "\r\n"};
  }
  // State the proxy holds for every session (a connection of the session's own gets the name
  // when it opens). Inside MULTI (queued, run by EXEC) or subscribed, it goes to Redis.
  // CLIENT INFO of a session with server-side state (tracking, ...) is its connection's.
  if (t.local && !in_multi_ && !unpaired_ && !(t.info && t.info->what == effect::info && sticky_)) {
    if (t.info == nullptr) {
      st_->unknown_commands.fetch_add(1, std::memory_order_relaxed);
      return local_answer{"-" + unknown_error(frame, t) + "\r\n"};
    }
    return answer_locally(t.info->what, frame);
  }
  return std::nullopt;
}

// CLIENT INFO in Redis 7.0's format, of the client's connection to the proxy: its id (CLIENT
// ID's), addresses, name, db and protocol; the buffer fields are the proxy's own, not Redis's.
std::string session::client_info() const {
  error_code ec;
  auto peer = client_.remote_endpoint(ec);
  auto local = client_.local_endpoint(ec);
  auto endpoint = [](const tcp::endpoint& e) {
    return e.address().to_string() + ":" + std::to_string(e.port());
  };
  auto age =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count();
  std::string line =
      "id=" + std::to_string(id_) + " addr=" + endpoint(peer) + " laddr=" + endpoint(local) +
      " fd=" + std::to_string(const_cast<tcp::socket&>(client_).native_handle()) +
      " name=" + client_name_ + " age=" + std::to_string(age) +
      " idle=0 flags=N db=" + std::to_string(db_) +
      " sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 "
      "rbs=" +
      std::to_string(buf_.size()) + " rbp=0 obl=0 oll=0 omem=0 tot-mem=0 " +
      "events=r cmd=client|info user=default redir=-1 resp=" + std::to_string(resp_) + "\n";
  if (resp_ == 3) {
    return "=" + std::to_string(line.size() + 4) + "\r\ntxt:" + line + "\r\n";
  }
  return "$" + std::to_string(line.size()) + "\r\n" + line + "\r\n";
}

// Redis's reply to a command or subcommand it does not have (Redis 7.0's, for what rsm's
// table does not have).
std::string session::unknown_error(std::string_view frame, const command_traits& t) {
  auto args = parser_.is_inline() ? parser_.inline_args() : frame_args(frame);
  if (args.empty()) args.emplace_back(parser_.name().view());  // too large to hold: its name
  const command_info* container = t.container;
  if (container == nullptr && t.info != nullptr && t.info->name.find('|') != std::string::npos)
    container = command_table::builtin().find(parser_.name().view(), "");
  if (container != nullptr && args.size() > 1) {
    std::string upper = container->name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return unknown_subcommand_error(upper, args[1]);
  }
  return unknown_command_error(args);
}

// CLIENT SETNAME, GETNAME and ID, answered as Redis 7.0 answers them.
std::optional<session::local_answer> session::answer_locally(effect what, std::string_view frame) {
  // A frame too large to hold (only its name is known): the caller refuses it.
  if (frame.empty() && !parser_.is_inline()) return local_answer{"-ERR too large\r\n"};
  switch (what) {
    case effect::setname: {
      auto args = parser_.is_inline() ? parser_.inline_args() : frame_args(frame);
      const auto& name = args.at(2);
      if (auto e = client_name_error(name)) return local_answer{"-" + *e + "\r\n"};
      client_name_ = name;
      return local_answer{"+OK\r\n"};
    }
    case effect::getname:
      if (client_name_.empty()) return local_answer{resp_ == 3 ? "_\r\n" : "$-1\r\n"};
      return local_answer{"$" + std::to_string(client_name_.size()) + "\r\n" + client_name_ +
                          "\r\n"};
    case effect::id:
      return local_answer{":" + std::to_string(id_) + "\r\n"};
    case effect::info:
      return local_answer{client_info()};
    default:
      return std::nullopt;
  }
}

// HELLO [protover [AUTH user pass] [SETNAME name]], checked as Redis 7.0 checks it. The
// protocol and name are the session's (its requests then go on a shared connection of that
// protocol); what goes to Redis is `HELLO [protover]`, without AUTH (the proxy's clients
// authenticate to the proxy) and without SETNAME (the proxy holds the name), so that the reply
// is Redis's own map in the client's protocol.
std::optional<session::local_answer> session::hello(std::string_view frame) {
  if (frame.empty() && !parser_.is_inline()) return local_answer{"-ERR too large\r\n"};
  auto h = parse_hello(parser_.is_inline() ? parser_.inline_args() : frame_args(frame));
  if (h.setname) client_name_ = *h.setname;  // whatever follows (as Redis 7.0)
  if (!h.error.empty()) return local_answer{"-" + h.error + "\r\n"};
  if (h.auth) {
    bool ok = h.username == "default" &&
              (st_->cfg.requirepass.empty() || same_secret(h.password, st_->cfg.requirepass));
    if (!ok) {
      st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
      return local_answer{"-WRONGPASS invalid username-password pair or user is disabled.\r\n"};
    }
    authenticated_ = true;
  }
  if (!authenticated_) return local_answer{"-" + std::string(k_hello_noauth) + "\r\n"};
  if (h.protocol != 0) resp_ = h.protocol;
  resp::command c{"HELLO"};
  if (h.protocol != 0) c.arg(std::to_string(h.protocol));
  return local_answer{resp::encode(c), false, true};
}

// SELECT of another db on the shared path. Redis checks it on the session's shared connection,
// and a second SELECT (its reply dropped) puts that connection back in its own db: the client
// gets Redis's exact answer and nobody else's db changes. On OK the session's next requests go
// on the shared connection of the new db (on_replies).
awaitable<bool> session::select_shared(std::string frame, long long db) {
  counters().add(counters().commands);
  while (outstanding_ > 0 && !closed_) co_await wait();  // its reply is the next one
  auto* sb = co_await route_shared();
  if (sb == nullptr) {
    if (!pinned_) co_return false;
    selects_.emplace_back(requests_sent_, db);  // a connection of its own after all
    co_return co_await to_backend(frame, 1);
  }
  if (!sb->usable() || closed_) co_return false;
  select_target_ = db;
  ++outstanding_;
  inflight_bytes_ += frame.size();
  sb->submit(shared_from_this(), frame, 1);
  sb->submit(nullptr, resp::encode(resp::command{"SELECT", std::to_string(sb->key().db)}), 1);
  co_return true;
}

// RESET: every reply due comes first, as with Redis; then whatever the session holds goes,
// a connection of its own included (its server-side state is exactly what RESET drops, and a
// new one needs no de-authentication), and it is back on the shared path in RESP2, db 0.
// Pushes or replies in flight to a subscribed or MONITOR session are dropped with it.
awaitable<void> session::reset() {
  counters().add(counters().commands);
  while (!unpaired_ && outstanding_ > 0 && !closed_) co_await wait();
  if (closed_) co_return;
  if (pinned_) {
    detach_backend();
    outstanding_ = 0;
    requests_sent_ = replies_done_ = 0;
    selects_.clear();
    if (st_->cfg.backend == backend_mode::shared) {
      pinned_ = false;
      --st_->pinned_now;
    }
  }
  unpaired_ = sticky_ = in_multi_ = watching_ = multi_dirty_ = false;
  db_ = 0;
  resp_ = 2;
  client_name_.clear();
  authenticated_ = st_->cfg.requirepass.empty();
  queue_client("+RESET\r\n");
}

void session::note(const command_traits& t) {
  if (t.unpairs) unpaired_ = true;
  if (t.sticky) sticky_ = true;
  if (t.starts_multi && !in_multi_) {
    in_multi_ = true;
    multi_dirty_ = false;
  }
  if (t.watches) watching_ = true;
  if (t.ends_multi) in_multi_ = watching_ = multi_dirty_ = false;
  if (t.unwatches && !in_multi_) watching_ = false;
}

// The whole frames gathered in buf_[fwd_begin_, frame_) and the replies they ask for, counted
// as forwarded.
std::pair<std::string_view, std::size_t> session::take_frames() {
  std::string_view bytes(buf_.data() + fwd_begin_, frame_ - fwd_begin_);
  auto replies = fwd_replies_;
  counters().add(counters().commands, fwd_commands_);
  fwd_begin_ = frame_;
  fwd_replies_ = fwd_commands_ = 0;
  return {bytes, replies};
}

// The common case of flush(), without a coroutine: the frames go to a shared connection that
// takes requests, or to the session's own open connection as far as its socket takes them now.
// False when flush() has work to do.
bool session::submit() {
  if (!pinned_) return submit_shared();
  if (fwd_begin_ == frame_) return !closed_;
  if (closed_ || !backend_open_) return false;
  auto [bytes, replies] = take_frames();
  outstanding_ += replies;
  requests_sent_ += replies;
  if (!write_backend_now(bytes)) return false;
  fwd_begin_ = frame_ - bytes.size();  // what the socket did not take now: flush() sends it
  return bytes.empty();
}

bool session::submit_shared() {
  if (fwd_begin_ == frame_) return !closed_;
  if (pinned_ || !sb_ || !sb_->usable() || closed_ || select_target_ >= 0 || sb_->key() != lane())
    return false;
  auto [bytes, replies] = take_frames();
  outstanding_ += replies;
  inflight_bytes_ += bytes.size();
  sb_->submit(shared_from_this(), bytes, replies);
  return true;
}

// Forwards the whole frames gathered in buf_[fwd_begin_, frame_).
awaitable<bool> session::flush() {
  if (fwd_begin_ == frame_) co_return !closed_;
  if (!pinned_) {
    if (co_await route_shared() != nullptr) co_return submit_shared();
    if (!pinned_) co_return false;  // else its thread has no room for another shared connection
  }
  auto [bytes, replies] = take_frames();
  co_return co_await to_backend(bytes, replies);
}

// One request the proxy encoded itself (not bytes of buf_), after everything before it.
awaitable<bool> session::forward(std::string bytes, std::size_t replies) {
  counters().add(counters().commands);
  if (!pinned_) {
    if (auto* sb = co_await route_shared()) {
      if (!sb->usable() || closed_) co_return false;
      outstanding_ += replies;
      inflight_bytes_ += bytes.size();
      sb->submit(shared_from_this(), bytes, replies);
      co_return true;
    }
    if (!pinned_) co_return false;
  }
  co_return co_await to_backend(bytes, replies);
}

// This thread's shared connection for the session's protocol and db. A session moves to
// another only once every reply due on the old one has come (its replies stay in order). Null:
// the session was closed, or pinned because its thread has --max-shared-lanes already.
awaitable<shared_backend*> session::route_shared() {
  for (;;) {
    if (closed_) co_return nullptr;
    if (select_target_ >= 0) {  // the db is known once the SELECT's reply has come
      co_await wait();
      continue;
    }
    auto key = lane();
    if (sb_ && sb_->usable() && sb_->key() == key) co_return sb_.get();
    if (outstanding_ > 0) {
      co_await wait();
      continue;
    }
    auto& t = ts();
    auto it = std::find_if(t.lanes.begin(), t.lanes.end(),
                           [&key](const shared_lane& l) { return l.key == key; });
    if (it == t.lanes.end()) {
      if (t.lanes.size() >= st_->cfg.max_shared_lanes) {
        if (st_->lanes_full.fetch_add(1, std::memory_order_relaxed) == 0) {
          log::warn("proxy",
                    "a data thread has --max-shared-lanes shared connections: sessions in "
                    "another protocol or db get connections of their own",
                    {{"max_shared_lanes", st_->cfg.max_shared_lanes}});
        }
        sb_.reset();
        co_await pin();
        co_return nullptr;
      }
      t.lanes.push_back(shared_lane{key, nullptr, {}});
      t.lane_count.store(t.lanes.size(), std::memory_order_relaxed);
      it = t.lanes.end() - 1;
    }
    auto& l = *it;
    if (!l.current || !l.current->usable()) {
      auto now = std::chrono::steady_clock::now();
      auto not_before = std::max(now, l.last_connect + std::chrono::milliseconds(100));
      l.last_connect = not_before;
      l.current = std::make_shared<shared_backend>(st_, thread_, key);
      std::erase_if(t.backends, [](const auto& w) { return w.expired(); });
      t.backends.push_back(l.current);
      l.current->start(not_before);
    }
    sb_ = l.current;
    co_return sb_.get();
  }
}

// Moves the session to a connection of its own, after every earlier reply has come.
awaitable<bool> session::pin() {
  while (outstanding_ > 0 && !closed_) co_await wait();
  if (closed_) co_return false;
  pinned_ = true;
  sb_.reset();
  ++st_->pinned_now;
  counters().add(counters().pinned);
  co_return true;
}

// Opens the pinned connection: to the verified master (waiting up to --failover-hold for one),
// in the session's db.
awaitable<bool> session::open_backend() {
  redis::options o;
  o.password = st_->cfg.password;
  o.connect_timeout = st_->cfg.connect_timeout;
  o.db = static_cast<int>(db_);
  o.client_name = client_name_;
  o.protocol = resp_;
  auto until = std::chrono::steady_clock::now() + st_->cfg.failover_hold;
  std::function<bool()> gone = [this] { return closed_; };  // not a temporary in co_await (GCC 12)
  auto attempt = co_await open_master(*st_, std::move(o), until, gone);
  if (closed_) co_return false;
  if (!attempt.connection) {
    if (attempt.no_master) st_->no_master.fetch_add(1, std::memory_order_relaxed);
    co_await answer("-ERR rsm proxy: " + attempt.error + "\r\n");
    co_await flush_and_close();
    co_return false;
  }
  if (!listed_) {
    std::erase_if(ts().pinned, [](const auto& w) { return w.expired(); });
    ts().pinned.push_back(weak_from_this());
    listed_ = true;
  }
  backend_ = std::move(attempt.connection->socket);
  error_code nb;
  backend_.non_blocking(true, nb);  // for to_backend's inline writes
  backend_open_ = true;
  backend_replied_ = false;
  if (attempt.connection->waited) st_->held.fetch_add(1, std::memory_order_relaxed);
  generation_ = attempt.connection->master->generation;
  switched_at_ = attempt.connection->master->since;
  ++backend_epoch_;
  counters().add(counters().backend_connects);
  auto self = shared_from_this();  // an lvalue: GCC 12 miscompiles a prvalue shared_ptr argument
  asio::co_spawn(client_.get_executor(), backend_reader(self, backend_epoch_), asio::detached);
  co_return true;
}

awaitable<bool> session::to_backend(std::string_view bytes, std::size_t replies) {
  if (!backend_open_ && !co_await open_backend()) co_return false;
  outstanding_ += replies;
  requests_sent_ += replies;
  if (!write_backend_now(bytes)) co_return false;
  if (!bytes.empty()) {
    auto [ec, n] = co_await asio::async_write(backend_, asio::buffer(bytes), use_nothrow);
    if (ec) {
      close();
      co_return false;
    }
  }
  co_return !closed_;
}

// Without blocking (the socket is non-blocking, open_backend): mostly the socket takes
// everything, and the caller goes on without a round through the event loop. `bytes` keeps what
// it did not take; false (and the session closed) on an error.
bool session::write_backend_now(std::string_view& bytes) {
  if (bytes.empty()) return true;
  error_code ec;
  auto n = backend_.write_some(asio::buffer(bytes), ec);
  if (ec == asio::error::would_block) {
    ec = {};
    n = 0;
  }
  if (ec) {
    close();
    return false;
  }
  bytes.remove_prefix(n);
  return true;
}

// ---- replies ----------------------------------------------------------------------------

awaitable<void> session::backend_reader(std::shared_ptr<session> self, std::uint64_t epoch) {
  std::vector<char> buf(k_read_min);
  std::size_t got = 0;
  auto& s = *self;
  drained_reader reads(s.backend_);  // this connection's (a new one gets a new reader)
  for (;;) {
    bool filled = got == buf.size();
    if (auto size = next_read_size(buf.size(), 0, got, filled); size != buf.size()) {
      buf = std::vector<char>(size);
    }
    // Slow client: stop reading Redis until it catches up.
    while (s.buffered() > s.st_->cfg.client_output_soft_limit && !s.closed_ &&
           epoch == s.backend_epoch_) {
      co_await s.wait();
    }
    if (s.closed_ || epoch != s.backend_epoch_) co_return;
    auto [ec, n] = co_await reads.async_read(asio::buffer(buf), use_nothrow);
    if (epoch != s.backend_epoch_ || s.closed_) co_return;  // moved to a new master, or closed
    got = n;
    if (ec) {
      if (s.movable()) {
        // Nothing was due and nothing ties it to that connection: reopen (on whatever master
        // is verified then, in its db) at the next request, as after a switch.
        s.detach_backend();
        if (s.st_->tracker) s.st_->tracker->suspect();
        co_return;
      }
      // A pinned connection that breaks closes its client (after what it already answered).
      s.closing_ = true;
      s.backend_open_ = false;
      s.queue_client({});
      s.notify();
      co_return;
    }
    std::string_view data(buf.data(), n);
    if (!s.unpaired_) {
      std::size_t pos = 0;
      std::size_t frames = 0;
      while (pos < data.size()) {
        auto step = s.replies_.parse(data.substr(pos));
        pos += step.consumed;
        if (step.what == resp::parse_step::kind::error) {
          log::warn("proxy", "backend sent malformed RESP",
                    {{"error", s.replies_.error_message()}});
          s.close();
          co_return;
        }
        if (step.what != resp::parse_step::kind::frame_end) continue;
        if (s.replies_.is_push()) continue;
        if (!s.backend_replied_) {
          s.backend_replied_ = true;
          s.st_->first_reply(s.generation_, s.switched_at_);
        }
        if (!s.selects_.empty() && s.selects_.front().first == s.replies_done_) {
          if (s.replies_.type() == '+') s.db_ = s.selects_.front().second;
          s.selects_.pop_front();
        }
        ++s.replies_done_;
        ++frames;
        // "Look the master up again now" (verbatim to the client all the same).
        if (s.st_->tracker && s.replies_.type() == '-' &&
            asks_for_a_new_master(s.replies_.error_prefix().view())) {
          s.st_->tracker->suspect();
        }
      }
      s.pass_replies(data, frames);
      s.reply_done(frames);
    } else {
      s.queue_client(data);
    }
  }
}

void session::reply_done(std::size_t frames) {
  if (frames == 0) return;
  outstanding_ -= std::min(outstanding_, frames);
  if (outstanding_ == 0) {
    inflight_bytes_ = 0;
    notify();
  }
}

void session::on_replies(std::string_view bytes, std::size_t frames) {
  if (select_target_ >= 0 && !bytes.empty()) {
    if (bytes[0] == '+') db_ = select_target_;
    select_target_ = -1;
  }
  if (!closed_) pass_replies(bytes, frames);
  reply_done(frames);
}

// Reply bytes to the client, or to the rewrite in progress (its reply is all that is due).
void session::pass_replies(std::string_view bytes, std::size_t frames) {
  if (rewrite_ == rewrite::none) {
    queue_client(bytes);
    return;
  }
  rewrite_buf_.append(bytes);
  if (frames == 0) return;  // the rest of it comes later
  if (rewrite_ == rewrite::redact) {
    queue_client(redact_config_reply(rewrite_buf_));
  } else if (rewrite_ == rewrite::hello) {
    queue_client(hello_with_id(rewrite_buf_, id_));
  } else {
    queue_client("-EXECABORT Transaction discarded because of previous errors.\r\n");
  }
  rewrite_ = rewrite::none;
  std::string().swap(rewrite_buf_);
}

// `bytes`, alone: after every reply due, and nothing after it until its reply, rewritten as
// `what` says, has gone to the client.
awaitable<bool> session::rewritten(std::string bytes, rewrite what) {
  bool ok = co_await flush();
  while (ok && outstanding_ > 0 && !closed_) co_await wait();
  if (!ok || closed_) co_return false;
  rewrite_ = what;
  ok = co_await forward(std::move(bytes), 1);
  while (ok && rewrite_ != rewrite::none && outstanding_ > 0 && !closed_) co_await wait();
  rewrite_ = rewrite::none;  // done, or its connection was lost: the error went instead
  rewrite_buf_.clear();
  co_return ok && !closed_;
}

void session::on_lost(std::size_t frames, bool cut, std::string_view why) {
  select_target_ = -1;
  rewrite_ = rewrite::none;  // the error below replaces its reply
  rewrite_buf_.clear();
  if (cut) {
    close();  // the client saw part of a reply: nothing can follow it
  } else if (!closed_) {
    std::string e = "-ERR rsm proxy: " + std::string(why) + "\r\n";
    for (std::size_t i = 0; i < frames; ++i) queue_client(e);
  }
  reply_done(frames);
}

// ---- the client's single writer -----------------------------------------------------------

// With nothing queued and the writer waiting, the bytes go out here, without blocking (the
// socket is non-blocking, client_loop): no wake-up of the writer and no async
// operation per reply. Whatever the socket does not take now (or an error) is the writer's, and
// so is everything once the session is closing (the writer closes it when all is out).
void session::queue_client(std::string_view bytes) {
  if (writer_idle_ && out_.empty() && !bytes.empty() && !closed_ && !closing_) {
    error_code ec;
    auto n = client_.write_some(asio::buffer(bytes), ec);
    if (!ec) {
      written_ += n;
      counters().add(counters().bytes_out, n);
      bytes.remove_prefix(n);
      if (bytes.empty()) return;
    }
  }
  // Grown as std::string does up to 256 KiB, then straight to the output limit plus one read
  // (std::string would double past it: reserve() too): a reply streaming to a slow client
  // fills at most that (buffered()), so the two buffers it alternates between (out_ and the
  // writer's batch) stay at that size.
  if (auto need = out_.size() + bytes.size(); need > out_.capacity() && need > 4 * k_read_size)
    out_.reserve(std::max(need, st_->cfg.client_output_soft_limit + k_read_size));
  out_.append(bytes);
  if (writer_idle_) {
    writer_idle_ = false;
    writer_wake_.cancel();
  }
}

awaitable<void> session::client_writer(std::shared_ptr<session> self) {
  auto& s = *self;
  std::string batch;
  for (;;) {
    while (s.out_.empty()) {
      if (s.closed_) co_return;
      if (s.closing_ && (s.outstanding_ == 0 || s.unpaired_ || (s.pinned_ && !s.backend_open_))) {
        s.close();
        co_return;
      }
      s.writer_idle_ = true;
      co_await s.writer_wake_.async_wait(use_nothrow);
      s.writer_idle_ = false;
    }
    if (s.closed_) co_return;
    batch.clear();
    std::swap(batch, s.out_);  // out_ reuses the last batch's buffer while a stream goes on
    // Written piece by piece, each piece making room at once: what is queued plus what is
    // being written stays under the output limit (buffered()), not twice it.
    std::size_t at = 0;
    while (at < batch.size()) {
      s.writing_bytes_ = batch.size() - at;
      auto [ec, n] = co_await s.client_.async_write_some(
          asio::buffer(batch.data() + at, batch.size() - at), use_nothrow);
      if (ec) {
        s.writing_bytes_ = 0;
        s.close();
        co_return;
      }
      at += n;
      s.written_ += n;
      s.counters().add(s.counters().bytes_out, n);
      s.writing_bytes_ = batch.size() - at;
      s.notify();  // room again
    }
    if (s.out_.empty()) {
      // Nothing follows: an idle session does not keep a big reply's buffers.
      if (batch.capacity() > 4 * k_read_size) batch = std::string();
      if (s.out_.capacity() > 4 * k_read_size) s.out_ = std::string();
    }
  }
}

// A local answer goes out after every reply still due from Redis, to keep the order.
awaitable<void> session::answer(std::string text) {
  while (!unpaired_ && outstanding_ > 0 && !closed_) co_await wait();
  queue_client(text);
}

// Lets the writer drain what is queued, then ends the session.
awaitable<void> session::flush_and_close() {
  closing_ = true;
  queue_client({});
  while (!closed_) co_await wait();
}

awaitable<void> session::wait() {
  ++waiters_;
  co_await wake_.async_wait(use_nothrow);
  --waiters_;
}

void session::notify() {
  if (waiters_ > 0) wake_.cancel();
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
  backend_.close(ignored);
  backend_open_ = false;
  writer_wake_.cancel();
  wake_.cancel();
}

// ---- the control plane's news --------------------------------------------------------------

bool session::on_master_change(std::uint64_t generation) {
  if (closed_) return false;
  if (!backend_open_ || generation_ >= generation) return true;
  if (movable()) {
    // Nothing ties it to the old master: reopen on the new one, in its db, when it next asks.
    detach_backend();
    counters().add(counters().migrated);
    return true;
  }
  st_->killed_on_switch.fetch_add(1, std::memory_order_relaxed);
  close();
  return false;
}

bool session::movable() const {
  return !sticky_ && !in_multi_ && !watching_ && !unpaired_ && !streaming_ && outstanding_ == 0;
}

void session::detach_backend() {
  ++backend_epoch_;
  error_code ignored;
  backend_.close(ignored);
  backend_open_ = false;
  replies_ = resp::reply_parser();
  notify();
}

void session::drain() {
  closing_ = true;
  queue_client({});
}

}  // namespace rsm::proxy
