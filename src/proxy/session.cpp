#include "session.hpp"

#include "drained_read.hpp"
#include "read_size.hpp"

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

/// A request longer than this is not held whole: it streams through a pinned connection.
constexpr std::size_t k_large_frame = 1024 * 1024;

}  // namespace

namespace {

std::string endpoint_text(const tcp::endpoint& e) {
  return e.address().to_string() + ":" + std::to_string(e.port());
}

// Who the client is (CLIENT ID, CLIENT INFO).
client_identity identify(tcp::socket& client, std::uint64_t id) {
  client_identity who;
  who.id = id;
  who.fd = client.native_handle();
  who.resolve = [&client](client_identity& me) {
    error_code ec;
    me.addr = endpoint_text(client.remote_endpoint(ec));
    me.laddr = endpoint_text(client.local_endpoint(ec));
  };
  return who;
}

}  // namespace

session::session(std::shared_ptr<server::state> st, net::stream client, std::size_t thread)
    : st_(std::move(st)),
      thread_(thread),
      client_(std::move(client)),
      pipe_(pipeline_config{st_->cfg.requirepass, &st_->cfg.commands,
                            st_->tracker ? st_->tracker->fence_flag() : nullptr,
                            st_->cfg.auth_passthrough, st_->cfg.anonymous_as_proxy,
                            st_->cfg.users.get()},
            identify(client_.socket(),
                     st_->next_client_id.fetch_add(1, std::memory_order_relaxed) + 1),
            st_->cfg.backend == backend_mode::dedicated),
      writer_wake_(client_.get_executor(), asio::steady_timer::time_point::max()),
      wake_(client_.get_executor(), asio::steady_timer::time_point::max()) {}

session::~session() {
  if (registered_) ts().sessions.erase(this);
  if (pipe_.state.pinned) --st_->pinned_now;
}

awaitable<void> session::run(std::shared_ptr<session> self) {
  self->ts().sessions.insert(self.get());
  self->registered_ = true;
  if (self->pipe_.state.pinned) ++self->st_->pinned_now;
  asio::co_spawn(self->client_.get_executor(), client_writer(self), asio::detached);
  co_await self->client_loop();
  self->close();
  --self->st_->clients;
}

// ---- requests ---------------------------------------------------------------------------

awaitable<void> session::client_loop() {
  buf_.resize(k_read_min);
  pipe_.identity.read_buffer = k_read_min;
  std::size_t scan = 0;  // the parser's position
  std::size_t got = 0;   // the last read's size, and whether it filled the space it had
  bool filled = false;
  // Non-blocking, for the inline reply writes (queue_client).
  error_code nb;
  client_.socket().non_blocking(true, nb);
  drained_reader reads(client_);
  for (;;) {
    while (scan < end_) {
      // Before AUTH, Redis's limits for unauthenticated clients (frame_parser.hpp).
      parser_.set_unauthenticated(!pipe_.state.authenticated);
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
          auto a = pipe_.on_large_frame(parser_, scan - frame_);
          if (a.what == action::kind::answer) {
            co_await answer(std::move(a.bytes));
            co_await flush_and_close();
            co_return;
          }
          if (a.pin && !co_await pin()) co_return;
          counters().add(counters().commands);
          streaming_ = true;
          if (!to_link({}, a.replies)) co_return;
        }
        if (streaming_) {
          if (!to_link(std::string_view(buf_.data() + frame_, scan - frame_), 0)) co_return;
          frame_ = fwd_begin_ = scan;
        }
        break;
      }
      // A whole frame: buf_[frame_, scan).
      partial_ = false;
      std::string_view f(buf_.data() + frame_, scan - frame_);
      if (streaming_) {
        streaming_ = false;
        if (!to_link(f, 0)) co_return;
        frame_ = fwd_begin_ = scan;
        continue;
      }
      auto a = pipe_.on_frame(parser_, f, fwd_begin_ != frame_);
      if (a.what == action::kind::flush) {  // what it does waits for the requests before it
        if (!co_await flush()) co_return;
        a = pipe_.on_frame(parser_, f, false);
      }
      tally(a.counted);
      if (a.what == action::kind::batch) {
        if (a.pin && !co_await pin()) co_return;
        if (a.db >= 0) selects_.emplace_back(requests_sent_ + fwd_replies_, a.db);
        fwd_replies_ += a.replies;
        ++fwd_commands_;
        frame_ = scan;
        continue;
      }
      frame_ = fwd_begin_ = scan;
      if (!co_await run(std::move(a))) co_return;
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
    // the shared connection or unsent on its own, is not read until that clears.
    bool counted = false;
    while (!closed_ &&
           (buffered() > st_->cfg.client_output_soft_limit ||
            (outstanding_ > 0 && inflight_bytes_ > st_->cfg.client_query_limit) ||
            (pipe_.state.pinned && link_ && link_->unsent() > st_->cfg.client_query_limit))) {
      if (!counted && buffered() <= st_->cfg.client_output_soft_limit) {
        counted = true;
        counters().add(counters().query_paused);
        if (!st_->query_paused_logged.exchange(true)) {
          log::info("proxy",
                    "a client has --client-query-limit request bytes in flight: it is not read "
                    "until they are answered (counted in rsm_proxy_client_query_pauses_total)",
                    {{"client_query_limit", st_->cfg.client_query_limit}});
        }
      }
      partial_ = false;  // the proxy is not reading it: no deadline runs meanwhile
      co_await wait();
    }
    if (closed_) co_return;
    if (end_ > frame_ && !streaming_ && !partial_) {
      partial_ = true;
      partial_since_ = std::chrono::steady_clock::now();
    }
    if (auto size = next_read_size(buf_.size(), end_, got, filled); size != buf_.size()) {
      if (size < buf_.size()) {
        buf_ = std::vector<char>(size);
      } else {
        buf_.resize(size);
      }
      pipe_.identity.read_buffer = size;
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
    ++reads_;
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
    if (outstanding_ == 0 && !pipe_.state.unpaired) {
      st_->idle_closed.fetch_add(1, std::memory_order_relaxed);
      close();
      co_return std::nullopt;
    }
  }
}

// Runs an action of the pipeline other than `batch` (every batched frame has gone): false
// when the session ends.
awaitable<bool> session::run(action a) {
  using kind = action::kind;
  switch (a.what) {
    case kind::skip:
      co_return true;
    case kind::answer:
      co_await answer(std::move(a.bytes));
      if (!a.close) co_return !closed_;
      co_await flush_and_close();
      co_return false;
    case kind::reset:
      co_await reset();
      co_return !closed_;
    case kind::select:
      co_return co_await select_shared(std::move(a.bytes), a.db);
    case kind::send_alone:
      if (a.how == rewrite::auth) co_return co_await authenticate(std::move(a));
      if (a.how == rewrite::permitted) local_reply_ = std::move(a.local);
      co_return co_await rewritten(std::move(a.bytes), a.how);
    case kind::send:
      if (a.pin && !co_await pin()) co_return false;
      if (a.db >= 0) selects_.emplace_back(requests_sent_, a.db);
      co_return co_await forward(std::move(a.bytes), a.replies);
    case kind::batch:
    case kind::flush:
      break;
  }
  co_return !closed_;
}

void session::tally(action::tally what) {
  switch (what) {
    case action::tally::refused:
      st_->refused.fetch_add(1, std::memory_order_relaxed);
      break;
    case action::tally::unknown:
      st_->unknown_commands.fetch_add(1, std::memory_order_relaxed);
      break;
    case action::tally::auth_failure:
      st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
      break;
    case action::tally::none:
      break;
  }
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
    if (!pipe_.state.pinned) co_return false;
    selects_.emplace_back(requests_sent_, db);  // a connection of its own after all
    co_return to_link(frame, 1);
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
  auto& cs = pipe_.state;
  while (!cs.unpaired && outstanding_ > 0 && !closed_) co_await wait();
  if (closed_) co_return;
  bool was_pinned = cs.pinned;
  if (was_pinned) {
    detach_backend();
    outstanding_ = 0;
    requests_sent_ = replies_done_ = 0;
    selects_.clear();
  }
  pipe_.reset();
  if (was_pinned && !cs.pinned) --st_->pinned_now;
  queue_client("+RESET\r\n");
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
// takes requests, or to the session's own. False when flush() has work to do.
bool session::submit() {
  if (fwd_begin_ == frame_) return !closed_;
  if (pipe_.state.pinned) {
    auto [bytes, replies] = take_frames();
    return to_link(bytes, replies);
  }
  if (!link_ || !link_->usable() || closed_ || select_target_ >= 0 || link_->key() != lane())
    return false;
  auto [bytes, replies] = take_frames();
  outstanding_ += replies;
  inflight_bytes_ += bytes.size();
  link_->submit(shared_from_this(), bytes, replies);
  return true;
}

// Forwards the whole frames gathered in buf_[fwd_begin_, frame_).
awaitable<bool> session::flush() {
  if (fwd_begin_ == frame_) co_return !closed_;
  if (!pipe_.state.pinned) {
    if (co_await route_shared() != nullptr) co_return submit();
    if (!pipe_.state.pinned)
      co_return false;  // else its thread has no room for another shared connection
  }
  auto [bytes, replies] = take_frames();
  co_return to_link(bytes, replies);
}

// One request the proxy encoded itself (not bytes of buf_), after everything before it.
awaitable<bool> session::forward(std::string bytes, std::size_t replies) {
  counters().add(counters().commands);
  if (!pipe_.state.pinned) {
    if (auto* sb = co_await route_shared()) {
      if (!sb->usable() || closed_) co_return false;
      outstanding_ += replies;
      inflight_bytes_ += bytes.size();
      sb->submit(shared_from_this(), bytes, replies);
      co_return true;
    }
    if (!pipe_.state.pinned) co_return false;
  }
  co_return to_link(bytes, replies);
}

// This thread's shared connection for the session's protocol and db. A session moves to
// another only once every reply due on the old one has come (its replies stay in order). Null:
// the session was closed, or pinned because its thread has --max-shared-lanes already.
awaitable<backend_link*> session::route_shared() {
  for (;;) {
    if (closed_) co_return nullptr;
    if (select_target_ >= 0) {  // the db is known once the SELECT's reply has come
      co_await wait();
      continue;
    }
    auto key = lane();
    if (link_ && link_->usable() && link_->key() == key) co_return link_.get();
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
        link_.reset();
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
      l.current = std::make_shared<backend_link>(st_, thread_, key);
      std::erase_if(t.backends, [](const auto& w) { return w.expired(); });
      t.backends.push_back(l.current);
      l.current->start(not_before);
    }
    link_ = l.current;
    co_return link_.get();
  }
}

// Moves the session to a connection of its own, after every earlier reply has come.
awaitable<bool> session::pin() {
  while (outstanding_ > 0 && !closed_) co_await wait();
  if (closed_) co_return false;
  pipe_.state.pinned = true;
  link_.reset();
  ++st_->pinned_now;
  counters().add(counters().pinned);
  co_return true;
}

// Opens the session's own connection: to the verified master (it waits up to --failover-hold
// for one, with the requests queued), in the session's db and with its CLIENT SETNAME name.
void session::open_link() {
  if (!listed_) {
    std::erase_if(ts().pinned, [](const auto& w) { return w.expired(); });
    ts().pinned.push_back(weak_from_this());
    listed_ = true;
  }
  link_ = std::make_shared<backend_link>(st_, thread_, lane(), link_use::pinned, weak_from_this(),
                                         pipe_.state.name);
  link_->start(std::chrono::steady_clock::now());
}

bool session::to_link(std::string_view bytes, std::size_t replies) {
  if (closed_) return false;
  if (closing_ && !link_) return true;  // its connection broke: nothing more goes anywhere
  if (!link_) open_link();
  outstanding_ += replies;
  requests_sent_ += replies;
  link_->submit(shared_from_this(), bytes, replies);
  return !closed_;
}

// ---- replies ----------------------------------------------------------------------------

// A reply on the session's own connection ended: a SELECT's says whether the db changed.
void session::on_reply(char type) {
  if (!selects_.empty() && selects_.front().first == replies_done_) {
    if (type == '+') pipe_.state.db = selects_.front().second;
    selects_.pop_front();
  }
  ++replies_done_;
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
    if (bytes[0] == '+') pipe_.state.db = select_target_;
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
    queue_client(hello_with_id(rewrite_buf_, pipe_.identity.id));
  } else if (rewrite_ == rewrite::auth) {
    auth_ok_ = rewrite_buf_.starts_with("+");
    if (auth_ok_) {
      pipe_.state.user = st_->users.accepted(auth_user_, auth_password_);
      pipe_.state.user_name = auth_user_;
    } else if (rewrite_buf_.starts_with("-WRONGPASS")) {
      st_->auth_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (!auth_ok_ || !hello_follows_) queue_client(rewrite_buf_);  // Redis's answer, verbatim
  } else if (rewrite_ == rewrite::permitted) {
    queue_client(rewrite_buf_.starts_with("-") ? std::string_view(rewrite_buf_) : local_reply_);
    local_reply_.clear();
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

// --auth passthrough: Redis checks the client's AUTH, on the thread's authentication connection
// (or the session's own). On OK the session's requests go on connections of that user; for
// HELLO AUTH the HELLO follows there. Either way the client gets Redis's answers.
awaitable<bool> session::authenticate(action a) {
  auth_user_ = std::move(a.user);
  auth_password_ = std::move(a.password);
  hello_follows_ = !a.then.empty();
  auth_ok_ = false;
  auth_check_ = !pipe_.state.pinned;
  bool ok = co_await rewritten(std::move(a.bytes), rewrite::auth);
  auth_check_ = false;
  std::fill(auth_password_.begin(), auth_password_.end(), '\0');
  auth_password_.clear();
  if (!ok || !auth_ok_ || !hello_follows_) co_return ok;
  if (a.protocol != 0) pipe_.state.resp = a.protocol;
  co_return co_await rewritten(std::move(a.then), rewrite::hello);
}

void session::on_lost(std::size_t frames, bool cut, std::string_view why) {
  if (pipe_.state.pinned && frames == 0 && movable()) {
    // Nothing was due and nothing ties it to that connection: reopen (on whatever master is
    // verified then, in its db) at the next request, as after a switch.
    detach_backend();
    if (st_->tracker) st_->tracker->suspect();
    return;
  }
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
  if (pipe_.state.pinned && !closed_) {
    // A connection of its own that breaks closes its client, after what it already answered
    // (its state on the server is gone, as a direct client's would be).
    link_.reset();
    closing_ = true;
    queue_client({});
    notify();
  }
}

// ---- the client's single writer -----------------------------------------------------------

// With nothing queued and the writer waiting, the bytes go out here, without blocking (the
// socket is non-blocking, client_loop): no wake-up of the writer and no async
// operation per reply. Whatever the socket does not take now (or an error) is the writer's, and
// so is everything once the session is closing (the writer closes it when all is out).
void session::queue_client(std::string_view bytes) {
  if (writer_idle_ && out_.empty() && !bytes.empty() && !closed_ && !closing_) {
    error_code ec;
    auto n = client_.try_write_some(asio::buffer(bytes), ec);
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
      if (s.closing_ &&
          (s.outstanding_ == 0 || s.pipe_.state.unpaired || (s.pipe_.state.pinned && !s.link_))) {
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
  while (!pipe_.state.unpaired && outstanding_ > 0 && !closed_) co_await wait();
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
  if (link_) link_->room();  // a pinned link waits for room for its replies
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  client_.close();
  if (pipe_.state.pinned && link_) {
    link_->abandon();
    link_.reset();
  }
  writer_wake_.cancel();
  wake_.cancel();
}

// ---- the control plane's news --------------------------------------------------------------

bool session::on_master_change(std::uint64_t generation) {
  if (closed_) return false;
  if (!link_ || !link_->connected() || link_->generation() >= generation) return true;
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
  return !pipe_.state.sticky && !pipe_.state.in_multi && !pipe_.state.watching &&
         !pipe_.state.unpaired && !streaming_ && outstanding_ == 0;
}

void session::detach_backend() {
  if (link_) {
    link_->abandon();
    link_.reset();
  }
  notify();
}

std::size_t session::sweep() {
  if (closed_) return 0;
  if (!pipe_.state.authenticated && st_->cfg.auth_timeout.count() > 0 &&
      std::chrono::steady_clock::now() - connected_at_ >= st_->cfg.auth_timeout) {
    // Descriptors and buffers are for clients that can use them: one that has not
    // authenticated by now is closed, without a word (as a server closes a slow handshake).
    st_->auth_timeouts.fetch_add(1, std::memory_order_relaxed);
    if (!st_->auth_timeout_logged.exchange(true)) {
      log::info("proxy",
                "closed a client that did not authenticate within --auth-timeout (counted in "
                "rsm_proxy_auth_timeouts_total)",
                {{"auth_timeout", to_string(st_->cfg.auth_timeout)}});
    }
    close();
    return 0;
  }
  if (partial_ && st_->cfg.partial_request_timeout.count() > 0 &&
      std::chrono::steady_clock::now() - partial_since_ >= st_->cfg.partial_request_timeout) {
    // Part of a request, and nothing that completes it for this long: what it holds is for
    // clients that send whole requests (a slow-loris client is closed without a word).
    counters().add(counters().partial_timeouts);
    if (!st_->partial_timeout_logged.exchange(true)) {
      log::info("proxy",
                "closed a client that sent part of a request and not the rest within "
                "--partial-request-timeout (counted in rsm_proxy_partial_request_timeouts_total)",
                {{"partial_request_timeout", to_string(st_->cfg.partial_request_timeout)}});
    }
    close();
    return 0;
  }
  std::size_t found = 0;
  if (reads_ == swept_reads_ && reveal_end_of_stream(client_.socket())) ++found;
  swept_reads_ = reads_;
  if (pipe_.state.pinned && link_) found += link_->sweep();
  return found;
}

std::size_t session::memory() const {
  if (closed_) return 0;
  std::size_t n = buf_.size() + out_.capacity() + writing_bytes_ + rewrite_buf_.capacity();
  if (pipe_.state.pinned && link_) n += link_->unsent();
  return n;
}

void session::evict() {
  if (closed_) return;
  counters().add(counters().evicted);
  close();
}

void session::drain() {
  closing_ = true;
  queue_client({});
}

}  // namespace rsm::proxy
