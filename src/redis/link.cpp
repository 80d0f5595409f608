#include "rsm/redis/link.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace rsm::redis::detail {

struct link::pending {
  explicit pending(const asio::any_io_executor& ex) : timer(ex) {}
  std::vector<resp::reply> replies;
  error err;
  bool done = false;
  /// Expires at the command deadline; cancelled early when the replies are in.
  asio::steady_timer timer;
};

link::link(opened o, options opts, bool push_mode)
    : socket_(std::move(o.stream)),
      reader_(std::move(o.reader)),
      opts_(std::move(opts)),
      push_mode_(push_mode),
      push_signal_(socket_.get_executor()) {}

link::~link() = default;

void link::start() {
  asio::co_spawn(socket_.get_executor(), read_loop(shared_from_this()), asio::detached);
}

void link::fail(error e) {
  if (failed_) return;
  failed_ = true;
  failure_ = std::move(e);
  socket_.close();
  for (auto& s : fifo_) {
    if (s.waiter) {
      s.waiter->err = failure_;
      s.waiter->done = true;
      s.waiter->timer.cancel();
    }
  }
  fifo_.clear();
  push_signal_.cancel();
}

void link::abandon(pending* p) {
  for (auto& s : fifo_) {
    if (s.waiter == p) s.waiter = nullptr;
  }
}

void link::deliver(resp::reply r) {
  if (push_mode_) {
    if (pushed_.size() >= opts_.max_pushed_messages) {
      fail(error(errc::buffer_full, "more than " + std::to_string(opts_.max_pushed_messages) +
                                        " pushed messages not received"));
      return;
    }
    pushed_.push_back(std::move(r));
    push_signal_.cancel();
    return;
  }
  if (fifo_.empty()) {
    fail(error(errc::protocol_error, "reply without a request: " + r.to_debug_string()));
    return;
  }
  auto& s = fifo_.front();
  if (s.waiter) s.waiter->replies.push_back(std::move(r));
  if (--s.remaining == 0) {
    if (s.waiter) {
      s.waiter->done = true;
      s.waiter->timer.cancel();
    }
    fifo_.pop_front();
  }
}

awaitable<void> link::read_loop(std::shared_ptr<link> self) {
  std::array<char, 16 * 1024> buf;
  while (!self->failed_) {
    auto [ec, n] = co_await self->socket_.async_read_some(asio::buffer(buf), use_nothrow);
    if (self->failed_) co_return;
    if (ec) {
      self->fail(error(ec, self->opts_.server.to_string()));
      co_return;
    }
    if (auto f = self->reader_.feed(buf.data(), n); !f) {
      self->fail(f.error());
      co_return;
    }
    for (;;) {
      auto next = self->reader_.next();
      if (!next) {
        self->fail(next.error());
        co_return;
      }
      if (!*next) break;
      self->deliver(std::move(**next));
      if (self->failed_) co_return;
    }
  }
}

awaitable<void> link::write_loop(std::shared_ptr<link> self) {
  std::string batch;
  while (!self->out_.empty() && !self->failed_) {
    batch.clear();
    std::swap(batch, self->out_);
    auto [ec, n] = co_await asio::async_write(self->socket_, asio::buffer(batch), use_nothrow);
    if (ec) {
      self->fail(error(ec, self->opts_.server.to_string()));
      break;
    }
  }
  self->writing_ = false;
}

void link::kick_writer() {
  if (writing_ || out_.empty()) return;
  writing_ = true;
  asio::co_spawn(socket_.get_executor(), write_loop(shared_from_this()), asio::detached);
}

void link::send(const std::vector<resp::command>& cmds) {
  if (failed_) return;
  for (const auto& c : cmds) resp::encode(c, out_);
  kick_writer();
}

awaitable<result<std::vector<resp::reply>>> link::async_exec(std::vector<resp::command> cmds) {
  if (failed_) co_return error(errc::not_connected, failure_.message());
  if (cmds.empty()) co_return std::vector<resp::reply>{};
  auto self = shared_from_this();  // keeps the link alive while this frame refers to it
  pending p(socket_.get_executor());
  if (opts_.command_timeout.count() > 0) {
    p.timer.expires_after(opts_.command_timeout);
  } else {
    p.timer.expires_at(asio::steady_timer::time_point::max());
  }
  p.replies.reserve(cmds.size());
  for (const auto& c : cmds) resp::encode(c, out_);
  fifo_.push_back(slot{&p, cmds.size()});
  kick_writer();

  struct guard {
    link* l;
    pending* p;
    ~guard() {
      if (!p->done) l->abandon(p);
    }
  } g{this, &p};

  auto [ec] = co_await p.timer.async_wait(use_nothrow);
  if (p.done) {
    if (p.err.code) co_return p.err;
    co_return std::move(p.replies);
  }
  if (!ec) {
    error e(errc::timed_out, "no reply from " + opts_.server.to_string() + " within " +
                                 to_string(opts_.command_timeout));
    fail(e);
    co_return e;
  }
  co_return error(errc::cancelled);  // the guard abandons our slot; the link stays usable
}

awaitable<result<resp::reply>> link::async_receive(duration timeout) {
  auto self = shared_from_this();
  asio::steady_timer deadline(socket_.get_executor());
  if (timeout.count() > 0) {
    deadline.expires_after(timeout);
  } else {
    deadline.expires_at(asio::steady_timer::time_point::max());
  }
  for (;;) {
    if (!pushed_.empty()) {
      auto r = std::move(pushed_.front());
      pushed_.pop_front();
      co_return r;
    }
    if (failed_) co_return error(errc::not_connected, failure_.message());
    if (deadline.expiry() <= asio::steady_timer::clock_type::now()) {
      co_return error(errc::timed_out, "no message within " + to_string(timeout));
    }
    push_signal_.expires_at(deadline.expiry());
    auto [ec] = co_await push_signal_.async_wait(use_nothrow);
    if (ec && pushed_.empty() && !failed_) {
      // Woken without a message: either our caller was cancelled or a spurious cancel.
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return error(errc::cancelled);
    }
  }
}

}  // namespace rsm::redis::detail
