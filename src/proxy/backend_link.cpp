#include "backend_link.hpp"

#include "drained_read.hpp"
#include "master_connect.hpp"
#include "read_size.hpp"

#include "rsm/log.hpp"
#include "rsm/redis/transport.hpp"

#include <boost/asio/write.hpp>

namespace rsm::proxy {

namespace {
// Batches written and not yet answered in full. One: requests that come while a batch is at the
// master wait and go together in the next write (group commit). Under load the batch grows with
// the load, so the master reads and answers many commands per syscall (its CPU per request
// falls to a fraction of serving each client directly); when idle, a request goes at once.
// Redis runs one connection's commands in order anyway, so a held request waits for the work
// ahead of it plus at most one network round trip (microseconds on loopback, typically well
// under a millisecond on a LAN).
constexpr std::size_t k_batches_in_flight = 1;

bool asks_for_a_new_master(std::string_view e) {
  return e.starts_with("READONLY") || e.starts_with("LOADING") || e.starts_with("MASTERDOWN");
}
}  // namespace

backend_link::backend_link(std::shared_ptr<server::state> st, std::size_t thread, lane_key key,
                           link_use use, std::weak_ptr<reply_sink> owner, std::string name)
    : st_(std::move(st)),
      thread_(thread),
      key_(key),
      use_(use),
      owner_(std::move(owner)),
      name_(std::move(name)),
      socket_(tcp::socket(st_->context(thread))),
      writer_wake_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      grace_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      room_(socket_.get_executor(), asio::steady_timer::time_point::max()) {
  hold_until_ = std::chrono::steady_clock::now() + st_->cfg.failover_hold;
}

void backend_link::start(std::chrono::steady_clock::time_point not_before) {
  not_before_ = not_before;
  // An lvalue: GCC 12 miscompiles a prvalue shared_ptr argument to a coroutine.
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), run(self), asio::detached);
}

void backend_link::submit(const std::shared_ptr<reply_sink>& who, std::string_view bytes,
                          std::size_t replies) {
  if (replies > 0) {
    if (fifo_.empty()) last_progress_ = std::chrono::steady_clock::now();
    if (fifo_.empty() || fifo_.back().sink != who) fifo_.push_back({who, 0});
    auto& back = fifo_.back();
    back.replies += replies;
    back.unsent_replies += replies;
    back.unsent_bytes += bytes.size();
  } else if (!bytes.empty() && !pinned()) {
    untracked_ = true;
  }
  if (pinned()) {
    // Nothing waits for a batch here: with nothing queued and the writer waiting, the bytes go
    // out now, without blocking (the socket is non-blocking, connect()) and without a round
    // through the event loop. What the socket does not take (or an error) is the writer's.
    if (writer_idle_ && out_.empty() && !bytes.empty()) {
      error_code ec;
      auto n = socket_.try_write_some(asio::buffer(bytes), ec);
      if (!ec) bytes.remove_prefix(n);
      if (bytes.empty()) return;
    }
  } else {
    unsent_replies_ += replies;
  }
  out_.append(bytes);
  if (writer_idle_ && may_write()) {
    writer_idle_ = false;
    writer_wake_.cancel();
  }
}

awaitable<void> backend_link::run(std::shared_ptr<backend_link> self) {
  bool connected = co_await self->connect();
  if (!connected) co_return;
  asio::co_spawn(self->socket_.get_executor(), write_loop(self), asio::detached);
  if (!self->pinned() && self->st_->cfg.reply_timeout.count() > 0)
    asio::co_spawn(self->socket_.get_executor(), watchdog(self), asio::detached);
  co_await self->read_loop();
}

awaitable<bool> backend_link::connect() {
  if (std::chrono::steady_clock::now() < not_before_) {
    asio::steady_timer timer(socket_.get_executor(), not_before_);
    co_await timer.async_wait(use_nothrow);
  }
  redis::options o;
  o.auth = st_->credentials(key_.user);
  o.connect_timeout = st_->cfg.connect_timeout;
  o.protocol = key_.resp;
  o.db = static_cast<int>(key_.db);
  o.client_name = name_;
  std::function<bool()> gone = [this] { return failed_; };  // not a temporary in co_await (GCC 12)
  auto attempt = co_await open_master(*st_, std::move(o), hold_until_, gone);
  if (failed_) co_return false;
  if (!attempt.connection) {
    if (attempt.no_master) st_->no_master.fetch_add(replies_due(), std::memory_order_relaxed);
    fail(attempt.error);
    co_return false;
  }
  socket_ = std::move(attempt.connection->socket);
  master_ = attempt.connection->master->addr;
  generation_ = attempt.connection->master->generation;
  switched_at_ = attempt.connection->master->since;
  connected_ = true;
  if (pinned()) {
    error_code nb;
    socket_.socket().non_blocking(true, nb);  // for submit()'s writes
  }
  if (attempt.connection->waited) st_->held.fetch_add(replies_due(), std::memory_order_relaxed);
  st_->counters(thread_).add(st_->counters(thread_).backend_connects);
  co_return true;
}

awaitable<void> backend_link::write_loop(std::shared_ptr<backend_link> self) {
  for (;;) {
    while (!self->may_write()) {
      if (self->failed_ || !self->socket_.is_open()) co_return;
      self->writer_idle_ = true;
      co_await self->writer_wake_.async_wait(use_nothrow);
      self->writer_idle_ = false;
    }
    if (self->failed_ || !self->socket_.is_open()) co_return;
    self->sending_.clear();
    std::swap(self->sending_, self->out_);
    if (self->unsent_replies_ > 0) {
      self->batches_.push_back(self->unsent_replies_);
      self->unsent_replies_ = 0;
    }
    for (auto it = self->fifo_.rbegin(); it != self->fifo_.rend() && it->unsent_bytes > 0; ++it)
      it->unsent_replies = it->unsent_bytes = 0;
    self->untracked_ = false;
    auto& c = self->st_->counters(self->thread_);
    if (!self->pinned()) c.add(c.backend_writes);
    auto [ec, n] =
        co_await asio::async_write(self->socket_, asio::buffer(self->sending_), use_nothrow);
    if (self->failed_) co_return;
    if (ec) {
      self->fail("connection to master " + self->master_.to_string() + " lost: " + ec.message() +
                 " (the command may or may not have run)");
      co_return;
    }
    self->sending_.clear();
    if (self->pinned() && self->out_.empty()) {
      if (auto o = self->owner_.lock()) o->on_sent();
    }
  }
}

// Waits while the session at the head of the FIFO holds more than its soft limit of replies:
// memory stays bounded even for a 100 MB reply. On a shared link, a session that makes no
// progress for --client-output-stall is closed (its replies are then read and dropped); a
// pinned link waits for its owner's client as long as it takes (it holds up nobody else).
bool backend_link::head_slow() const {
  auto limit = st_->cfg.client_output_soft_limit;
  if (pinned()) {
    auto o = owner_.lock();
    return o && o->buffered() > limit;
  }
  return !fifo_.empty() && fifo_.front().sink && fifo_.front().sink->buffered() > limit;
}

awaitable<bool> backend_link::wait_for_head() {
  if (!head_slow()) co_return true;
  if (pinned()) {
    while (head_slow() && !failed_) {
      waiting_room_ = true;
      room_.expires_at(asio::steady_timer::time_point::max());
      co_await room_.async_wait(use_nothrow);
      waiting_room_ = false;
    }
    co_return !failed_ && socket_.is_open();
  }
  aside_ = true;
  auto sink = fifo_.front().sink;
  auto last = sink->written();
  auto since = std::chrono::steady_clock::now();
  asio::steady_timer timer(socket_.get_executor());
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(use_nothrow);
    if (failed_ || !socket_.is_open()) co_return false;
    if (fifo_.empty() || fifo_.front().sink != sink ||
        sink->buffered() <= st_->cfg.client_output_soft_limit) {
      co_return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (sink->written() != last) {
      last = sink->written();
      since = now;
    } else if (now - since >= (closed_slow_ ? std::min<duration>(st_->cfg.client_output_stall,
                                                                 std::chrono::milliseconds(100))
                                            : st_->cfg.client_output_stall)) {
      // (A second stalled client on this connection gets less: the requests behind it have
      // waited out one stall already.)
      closed_slow_ = true;
      st_->counters(thread_).add(st_->counters(thread_).slow_closed);
      log::warn(
          "proxy", "closing a client that stopped reading its replies",
          {{"buffered", sink->buffered()}, {"stalled", to_string(st_->cfg.client_output_stall)}});
      sink->close_slow();
      drop_unsent(sink.get());
      co_return true;
    }
  }
}

void backend_link::room() {
  if (waiting_room_) room_.cancel();
}

awaitable<void> backend_link::read_loop() {
  // A shared link reads big batches; a pinned one starts small (there may be thousands) and
  // grows while reads fill its buffer (read_size.hpp).
  in_.resize(pinned() ? k_read_min : k_read_size);
  std::size_t got = 0;
  // The master answers a batch at a time: after a read that drained the socket, the next waits
  // for epoll without a recv first (drained_read.hpp).
  drained_reader reads(socket_);
  for (;;) {
    if (pinned()) {
      if (auto size = next_read_size(in_.size(), 0, got, got == in_.size()); size != in_.size())
        in_ = std::vector<char>(size);
    }
    if (head_slow()) {
      waiting_for_head_ = true;
      bool ok = co_await wait_for_head();
      waiting_for_head_ = false;
      if (!ok) co_return;
    }
    auto [ec, n] = co_await reads.async_read(asio::buffer(in_), use_nothrow);
    if (failed_) co_return;  // failed or abandoned meanwhile: its waiters have heard
    last_progress_ = std::chrono::steady_clock::now();
    ++reads_;
    got = n;
    if (ec) {
      if (!pinned() && fifo_.empty() && (retired_ || aside_ || !socket_.is_open())) {
        close();
      } else {
        fail("connection to master " + master_.to_string() + " lost: " + ec.message() +
             " (the command may or may not have run)");
      }
      co_return;
    }
    std::string_view data(in_.data(), n);
    if (!(pinned() ? read_pinned(data) : read_shared(data))) co_return;
    if ((retired_ || aside_) && fifo_.empty()) {
      close();
      co_return;
    }
  }
}

std::optional<resp::parse_step> backend_link::parse(std::string_view data, std::size_t& pos) {
  auto step = parser_.parse(data.substr(pos));
  pos += step.consumed;
  if (step.what != resp::parse_step::kind::error) return step;
  log::warn("proxy", "backend sent malformed RESP", {{"error", parser_.error_message()}});
  fail("the master sent malformed RESP");
  return std::nullopt;
}

bool backend_link::read_shared(std::string_view data) {
  std::size_t pos = 0;
  std::size_t seg = 0;
  std::size_t frames = 0;
  bool partial = false;
  while (pos < data.size()) {
    if (fifo_.empty()) {
      log::warn("proxy", "the master sent a reply nobody asked for",
                {{"master", master_.to_string()}});
      fail("the master sent a reply nobody asked for");
      return false;
    }
    auto step = parse(data, pos);
    if (!step) return false;
    if (parser_.is_push()) {
      // Nothing on a shared connection asks for pushes (tracking and pub/sub pin their
      // session): whose would it be? Nobody gets its bytes.
      log::warn("proxy", "the master sent a push message on a shared connection",
                {{"master", master_.to_string()}});
      fail("the master sent a push message on a shared connection");
      return false;
    }
    if (step->what == resp::parse_step::kind::need_more) {
      partial = true;
      break;
    }
    replied();
    ++frames;
    if (!batches_.empty() && --batches_.front() == 0) {
      batches_.pop_front();
      if (writer_idle_ && may_write()) {
        writer_idle_ = false;
        writer_wake_.cancel();
      }
    }
    if (++head_done_ == fifo_.front().replies) {
      deliver(data.substr(seg, pos - seg), frames);
      fifo_.pop_front();
      head_done_ = 0;
      head_partial_ = false;
      frames = 0;
      seg = pos;
    }
  }
  if (pos > seg) {
    deliver(data.substr(seg, pos - seg), frames);
    head_partial_ = partial;
  }
  return !failed_;
}

bool backend_link::read_pinned(std::string_view data) {
  auto owner = owner_.lock();
  if (!owner) {
    abandon();
    return false;
  }
  if (owner->unpaired()) {  // pushes and replies from here on: the client counts them itself
    owner->on_replies(data, 0);
    return !failed_;
  }
  std::size_t pos = 0;
  std::size_t frames = 0;
  bool partial = false;
  while (pos < data.size()) {
    auto step = parse(data, pos);
    if (!step) return false;
    partial = step->what == resp::parse_step::kind::need_more;
    if (step->what != resp::parse_step::kind::frame_end || parser_.is_push()) continue;
    replied();
    owner->on_reply(parser_.type());
    ++frames;
    if (!fifo_.empty() && ++head_done_ >= fifo_.front().replies) {
      fifo_.pop_front();
      head_done_ = 0;
    }
  }
  head_partial_ = partial;
  owner->on_replies(data, frames);
  return !failed_;
}

void backend_link::replied() {
  if (!replied_) {
    replied_ = true;
    st_->first_reply(generation_, switched_at_);
  }
  if (st_->tracker && parser_.type() == '-' &&
      asks_for_a_new_master(parser_.error_prefix().view())) {
    st_->tracker->suspect();  // verbatim to the client all the same
  }
}

std::size_t backend_link::sweep() {
  if (failed_ || !connected_ || !socket_.is_open()) return 0;
  bool idle = reads_ == swept_reads_;
  swept_reads_ = reads_;
  return idle && reveal_end_of_stream(socket_.socket()) ? 1 : 0;
}

awaitable<void> backend_link::watchdog(std::shared_ptr<backend_link> self) {
  auto limit = self->st_->cfg.reply_timeout;
  asio::steady_timer timer(self->socket_.get_executor());
  for (;;) {
    timer.expires_after(std::min<duration>(limit / 4, std::chrono::seconds(1)));
    co_await timer.async_wait(use_nothrow);
    if (self->failed_ || !self->socket_.is_open()) co_return;
    if (self->fifo_.empty() || self->waiting_for_head_) continue;
    if (std::chrono::steady_clock::now() - self->last_progress_ < limit) continue;
    auto& c = self->st_->counters(self->thread_);
    c.add(c.reply_timeouts);
    log::error("proxy", "the master owes replies on a shared connection and sent nothing",
               {{"master", self->master_.to_string()},
                {"replies_due", self->replies_due()},
                {"reply_timeout", to_string(limit)}});
    self->fail("no reply from the master " + self->master_.to_string() + " for " +
               to_string(limit) + " (the command may or may not have run)");
    co_return;
  }
}

bool backend_link::may_write() const {
  return !out_.empty() && (pinned() || batches_.size() < k_batches_in_flight);
}

std::size_t backend_link::replies_due() const {
  std::size_t n = 0;
  for (const auto& s : fifo_) n += s.replies;
  return n;
}

void backend_link::deliver(std::string_view bytes, std::size_t frames_done) {
  if (auto& sink = fifo_.front().sink) sink->on_replies(bytes, frames_done);
}

void backend_link::drop_unsent(const reply_sink* who) {
  if (pinned() || untracked_ || out_.empty()) return;
  // The slots with unsent requests are the last ones, in the order of their bytes in out_.
  auto first = fifo_.end();
  while (first != fifo_.begin() && std::prev(first)->unsent_bytes > 0) --first;
  std::string kept;
  std::size_t at = 0;
  std::size_t dropped = 0;
  for (auto it = first; it != fifo_.end(); ++it) {
    auto n = it->unsent_bytes;
    if (it->sink.get() != who) {
      kept.append(out_, at, n);
    } else {
      dropped += it->unsent_replies;
      it->replies -= it->unsent_replies;
      it->unsent_replies = it->unsent_bytes = 0;
    }
    at += n;
  }
  if (dropped == 0) return;
  // (A slot that had sent nothing is now empty: it goes. The head is never one: its replies
  // were being read.)
  std::erase_if(fifo_, [](const slot& s) { return s.replies == 0; });
  unsent_replies_ -= dropped;
  out_ = std::move(kept);
}

void backend_link::retire(duration grace) {
  if (retired_ || failed_) return;
  retired_ = true;
  if (fifo_.empty()) {
    close();
    return;
  }
  grace_.expires_after(grace);
  grace_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->failed_ || !self->socket_.is_open()) return;
    if (!self->fifo_.empty()) {
      self->fail("the master changed while the command was in flight to " +
                 self->master_.to_string() + " (it may or may not have run)");
    }
  });
}

void backend_link::demoted(const address& now) {
  if (fifo_.empty()) {
    failed_ = true;
    close();
    return;
  }
  fail("the master changed from " + master_.to_string() + " to " + now.to_string() +
       " while the command was in flight (it may or may not have run)");
}

void backend_link::abandon() {
  failed_ = true;
  connected_ = false;
  fifo_.clear();
  close();
}

void backend_link::fail(std::string_view why) {
  if (failed_) return;
  failed_ = true;
  connected_ = false;
  auto fifo = std::move(fifo_);
  fifo_.clear();
  std::size_t lost = 0;
  bool first = true;
  for (auto& s : fifo) {
    auto n = s.replies - (first ? head_done_ : 0);
    if (s.sink) s.sink->on_lost(n, first && head_partial_, why);
    lost += n;
    first = false;
  }
  if (pinned() && fifo.empty()) {
    if (auto o = owner_.lock()) o->on_lost(0, false, why);
  }
  if (lost > 0) {
    st_->counters(thread_).add(st_->counters(thread_).lost_replies, lost);
    log::warn(
        "proxy", pinned() ? "pinned backend connection failed" : "shared backend connection failed",
        {{"master", master_.to_string()}, {"replies_lost", lost}, {"reason", std::string(why)}});
  }
  close();
}

void backend_link::close() {
  socket_.close();
  writer_wake_.cancel();
  grace_.cancel();
  room_.cancel();
}

}  // namespace rsm::proxy
