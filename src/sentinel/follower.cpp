#include "rsm/sentinel/follower.hpp"

#include "rsm/net/backoff.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/subscriber.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>

namespace rsm::sentinel {
namespace {

// Read from `co_await asio::this_coro::cancellation_state` (co_awaiting a helper coroutine
// after a cancellation would throw instead).
bool is_cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

awaitable<void> async_follow(follow_settings s, follow_handlers h) {
  net::backoff backoff(std::chrono::milliseconds(200), std::chrono::seconds(5));
  for (;;) {
    redis::options o;
    o.server = s.sentinel;
    o.auth = s.auth;
    o.connect_timeout = s.connect_timeout;
    auto sub = co_await redis::subscriber::async_connect(o);
    auto after_connect = co_await asio::this_coro::cancellation_state;
    if (is_cancelled(after_connect)) co_return;
    if (sub) {
      sub->subscribe(s.channels);
      int silent = 0;
      for (;;) {
        auto m = co_await sub->async_receive(s.silence);
        auto after_receive = co_await asio::this_coro::cancellation_state;
        if (is_cancelled(after_receive)) co_return;
        if (!m) {
          if (m.error() == errc::timed_out && ++silent < 3) {
            sub->ping();
            continue;
          }
          break;  // dead or failed: reconnect
        }
        silent = 0;
        if (m->type == redis::message::kind::subscribe) {
          if (m->count == static_cast<long long>(s.channels.size())) {
            backoff.reset();
            if (h.on_subscribed) h.on_subscribed();
          }
          continue;
        }
        if (m->type == redis::message::kind::message && h.on_event) {
          h.on_event(parse_event(m->channel, m->payload));
        }
      }
    }
    if (!co_await net::async_sleep(backoff.next())) co_return;
  }
}

void follower_set::update(const std::set<address>& wanted, const factory& make) {
  for (auto it = running_.begin(); it != running_.end();) {
    if (!wanted.count(it->first)) {
      it->second->emit(asio::cancellation_type::terminal);
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& a : wanted) {
    if (running_.count(a)) continue;
    auto sig = std::make_shared<asio::cancellation_signal>();
    asio::co_spawn(ex_, make(a),
                   asio::bind_cancellation_slot(sig->slot(), [sig](std::exception_ptr) {}));
    running_.emplace(a, std::move(sig));
  }
}

void follower_set::follow_sentinels(const std::optional<topology::group>& group,
                                    const follow_settings& base,
                                    std::function<void(const address&, const event&)> on_event,
                                    std::function<void(const address&)> on_subscribed) {
  std::set<address> wanted;
  if (group) {
    for (const auto& [instance, a] : group->sentinels) wanted.insert(a);
  }
  update(wanted, [&base, &on_event, &on_subscribed](address where) {
    follow_settings fs = base;
    fs.sentinel = where;
    follow_handlers h;
    if (on_event) h.on_event = [on_event, where](const event& ev) { on_event(where, ev); };
    if (on_subscribed) h.on_subscribed = [on_subscribed, where] { on_subscribed(where); };
    return async_follow(std::move(fs), std::move(h));
  });
}

void follower_set::stop_all() {
  for (auto& [a, sig] : running_) sig->emit(asio::cancellation_type::terminal);
  running_.clear();
}

}  // namespace rsm::sentinel
