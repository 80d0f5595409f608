#include "rsm/observe/watcher.hpp"

#include "rsm/net/timeout.hpp"
#include "rsm/sentinel/follower.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

namespace rsm::observe {

std::string format_line(const change_event& e, bool json,
                        std::chrono::system_clock::time_point now) {
  auto t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  char ts[64];
  if (json) {
    gmtime_r(&t, &tm);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("time");
    w.String(ts);
    w.Key("event");
    w.String(e.kind.c_str(), static_cast<rapidjson::SizeType>(e.kind.size()));
    for (const auto& [k, v] : e.fields) {
      w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }
  localtime_r(&t, &tm);
  std::snprintf(ts, sizeof ts, "%04d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string line = std::string(ts) + " " + e.kind;
  for (const auto& [k, v] : e.fields) {
    bool quote = v.empty() || v.find(' ') != std::string::npos;
    line += " " + k + "=" + (quote ? "\"" + v + "\"" : v);
  }
  return line;
}

struct watcher::impl {
  impl(asio::any_io_executor ex, watch_settings s, std::unique_ptr<discovery::source> src,
       std::function<void(std::string_view)> out)
      : cfg(std::move(s)),
        source(std::move(src)),
        sink(std::move(out)),
        poke(ex, asio::steady_timer::time_point::max()),
        followers(ex) {}

  watch_settings cfg;
  std::unique_ptr<discovery::source> source;
  std::function<void(std::string_view)> sink;

  std::optional<topology::group> group;
  std::optional<group_state> state;
  assessment last;
  std::optional<address> master;
  /// Cancelled to make the poller observe at once (never re-armed: see docs/design.md).
  asio::steady_timer poke;
  sentinel::follower_set followers;

  void print(const change_event& e) {
    if (cfg.once_master) return;
    sink(format_line(e, cfg.json, std::chrono::system_clock::now()));
  }

  void set_master(std::optional<address> m, const std::string& from) {
    if (m == master) return;
    auto old = master;
    master = m;
    if (cfg.once_master) {
      if (m) sink(m->to_string());
      return;
    }
    if (!m) {
      print({"master-unknown", {{"old", old ? old->to_string() : ""}, {"source", from}}});
    } else if (!old) {
      print({"master", {{"addr", m->to_string()}, {"source", from}}});
    } else {
      print({"master-switch",
             {{"old", old->to_string()}, {"new", m->to_string()}, {"source", from}}});
    }
  }

  void reconcile_subscribers() {
    sentinel::follow_settings fs;
    fs.auth = cfg.observe.sentinel;
    fs.connect_timeout = cfg.observe.timeout;
    followers.follow_sentinels(
        group, fs,
        [this](const address& where, const sentinel::event& ev) {
          if (ev.type == "+switch-master" && ev.master_name == cfg.observe.master_name &&
              ev.master_addr) {
            set_master(ev.master_addr, "sentinel " + where.to_string());
            poke.cancel();
          } else if (auto line = from_sentinel(ev, cfg.observe.master_name, where)) {
            print(*line);
            poke.cancel();
          }
        },
        [this](const address& where) {
          print({"sentinel-subscribed", {{"sentinel", where.to_string()}}});
        });
  }

  awaitable<void> discovery_loop() {
    for (;;) {
      auto u = co_await source->async_next();
      if (!u) co_return;
      for (const auto& e : from_discovery(u->changes)) print(e);
      group = u->group;
      reconcile_subscribers();
      poke.cancel();
    }
  }

  awaitable<void> poll_loop() {
    for (;;) {
      if (group) {
        auto g = co_await async_observe(*group, cfg.observe);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        auto a = assess(g, cfg.assess);
        if (state) {
          for (const auto& e : compare(*state, last, g, a, cfg.assess)) print(e);
        } else {
          std::string reasons;
          for (const auto& x : a.reasons) reasons += (reasons.empty() ? "" : "; ") + x;
          print({"health", {{"to", std::string(to_string(a.level))}, {"reasons", reasons}}});
        }
        set_master(a.master, "poll");
        state = std::move(g);
        last = std::move(a);
      }
      poke.expires_after(cfg.interval);
      co_await poke.async_wait(use_nothrow);  // the interval, or a poke
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
  }
};

watcher::watcher(asio::any_io_executor ex, watch_settings s,
                 std::unique_ptr<discovery::source> source,
                 std::function<void(std::string_view)> sink)
    : impl_(std::make_unique<impl>(ex, std::move(s), std::move(source), std::move(sink))) {}

watcher::~watcher() = default;

awaitable<void> watcher::async_follow_discovery() {
  return impl_->discovery_loop();
}
awaitable<void> watcher::async_poll() {
  return impl_->poll_loop();
}

void watcher::stop() {
  impl_->followers.stop_all();
}

const std::optional<group_state>& watcher::state() const {
  return impl_->state;
}
const assessment& watcher::last_assessment() const {
  return impl_->last;
}
const discovery::source& watcher::source() const {
  return *impl_->source;
}

}  // namespace rsm::observe
