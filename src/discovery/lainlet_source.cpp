// Discovery from lainlet's procwatcher watch.
//
//   connect ──▶ watch_stream ──bytes──▶ watch_decoder ──events──▶ parse_procwatcher
//      ▲              │ eof / error event / silence > 3 heartbeats        │
//      └── back-off ◀─┘                                   group ──diff──▶ async_next()
//
// A lainlet outage or bad data never loses the last good snapshot: the source retries with
// capped, jittered exponential back-off and only delivers snapshots that differ. A snapshot
// that empties the group at once (topology::implausible) counts as bad data.
#include "rsm/discovery/source.hpp"
#include "rsm/lainlet/http_client.hpp"
#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/lainlet/watch_decoder.hpp"
#include "rsm/log.hpp"
#include "rsm/net/backoff.hpp"
#include "rsm/net/timeout.hpp"

#include <deque>

namespace rsm::discovery {
namespace {

class lainlet_source final : public source {
 public:
  explicit lainlet_source(lainlet_settings s)
      : settings_(std::move(s)), backoff_(settings_.backoff_initial, settings_.backoff_cap) {}

  awaitable<result<update>> async_next() override {
    for (;;) {
      // 1. Events already decoded.
      while (!events_.empty()) {
        auto ev = std::move(events_.front());
        events_.pop_front();
        if (auto u = on_event(ev)) co_return std::move(*u);
      }
      // 2. A stream to read from.
      if (!stream_) {
        if (attempts_ > 0) {
          auto delay = backoff_.next();
          log::debug("discovery", "reconnecting to lainlet",
                     {{"in", to_string(delay)}, {"attempt", attempts_}});
          if (!co_await net::async_sleep(delay)) co_return error(errc::cancelled);
        }
        ++attempts_;
        auto s = co_await lainlet::watch_stream::async_open(settings_.server, target(),
                                                            settings_.connect_timeout);
        auto after_open = co_await asio::this_coro::cancellation_state;
        if (is_cancelled(after_open)) co_return error(errc::cancelled);
        if (!s) {
          problem("lainlet unreachable: " + s.error().message());
          continue;
        }
        stream_.emplace(std::move(*s));
        decoder_ = lainlet::watch_decoder{};
        connected_ = true;
        if (attempts_ > 1) ++reconnects_;
      }
      // 3. Bytes, within three heartbeats.
      auto bytes = co_await stream_->async_read(3 * settings_.heartbeat);
      auto after_read = co_await asio::this_coro::cancellation_state;
      if (is_cancelled(after_read)) co_return error(errc::cancelled);
      if (!bytes) {
        if (bytes.error().code == asio::error::eof) {
          drop_stream("lainlet closed the watch stream");
        } else if (bytes.error() == errc::timed_out) {
          drop_stream("lainlet watch stream silent for 3 heartbeats");
        } else {
          drop_stream("lainlet watch stream failed: " + bytes.error().message());
        }
        continue;
      }
      std::vector<lainlet::event> decoded;
      if (auto f = decoder_.feed(*bytes, decoded); !f) {
        drop_stream(f.error().message());
        continue;
      }
      for (auto& e : decoded) events_.push_back(std::move(e));
    }
  }

  std::optional<topology::group> current() const override { return last_; }

  health status() const override {
    return {last_.has_value(), connected_, last_error_, reconnects_};
  }

  std::string describe() const override {
    return "lainlet " + settings_.server.to_string() + " app=" + settings_.app;
  }

 private:
  std::string target() const {
    return "/v2/procwatcher/?appname=" + settings_.app +
           "&heartbeat=" + std::to_string(settings_.heartbeat.count()) + "&watch=1";
  }

  // Asks the cancellation state directly: co_awaiting a helper coroutine here would throw
  // (Asio's throw-on-cancel), where the caller wants to return errc::cancelled.
  static bool is_cancelled(const asio::cancellation_state& cs) {
    return cs.cancelled() != asio::cancellation_type::none;
  }

  // Logs a problem once (until it changes or data is good again).
  void problem(std::string what) {
    if (what != last_error_)
      log::warn("discovery", what, {{"lainlet", settings_.server.to_string()}});
    last_error_ = std::move(what);
  }

  void drop_stream(std::string why) {
    stream_.reset();
    events_.clear();
    connected_ = false;
    problem(std::move(why));
  }

  std::optional<update> on_event(const lainlet::event& ev) {
    if (ev.type == "heartbeat") return std::nullopt;
    if (ev.type == "error") {
      drop_stream("lainlet sent an error: " + ev.data);
      return std::nullopt;
    }
    if (ev.id == 0 || !ev.has_data) return std::nullopt;  // nothing to replace state with
    auto procs = lainlet::parse_procwatcher(ev.data);
    if (!procs) {
      problem(procs.error().detail + " (keeping the last good snapshot)");
      return std::nullopt;
    }
    auto g = topology::from_procs(*procs, settings_.redis_proc, settings_.sentinel_proc,
                                  settings_.ctl_proc);
    if (last_) {
      if (auto why = topology::implausible(*last_, g)) {
        problem(*why + " (keeping the last good snapshot)");
        return std::nullopt;
      }
    }
    if (!last_error_.empty()) {
      log::info("discovery", "lainlet data good again",
                {{"lainlet", settings_.server.to_string()}});
      last_error_.clear();
    }
    backoff_.reset();
    attempts_ = 1;
    if (last_ && *last_ == g) return std::nullopt;
    auto changes = topology::diff(last_.value_or(topology::group{}), g);
    last_ = g;
    return update{std::move(g), std::move(changes)};
  }

  lainlet_settings settings_;
  net::backoff backoff_;
  std::optional<lainlet::watch_stream> stream_;
  lainlet::watch_decoder decoder_;
  std::deque<lainlet::event> events_;
  std::optional<topology::group> last_;
  std::string last_error_;
  std::uint64_t attempts_ = 0;
  std::uint64_t reconnects_ = 0;
  bool connected_ = false;
};

}  // namespace

std::unique_ptr<source> make_lainlet(lainlet_settings s) {
  return std::make_unique<lainlet_source>(std::move(s));
}

}  // namespace rsm::discovery
