#include "master_connect.hpp"

#include "rsm/log.hpp"
#include "rsm/redis/transport.hpp"

namespace rsm::proxy {

awaitable<master_attempt> open_master(server::state& st, redis::options o,
                                      std::chrono::steady_clock::time_point until,
                                      std::function<bool()> cancelled) {
  master_attempt out;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  bool logged = false;
  bool waited = false;
  for (;;) {
    if (cancelled()) co_return out;
    auto m = st.master();
    if (!m) {
      if (std::chrono::steady_clock::now() >= until) {
        out.no_master = true;
        out.error = no_master_text(st.cfg);
        co_return out;
      }
      waited = true;
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    o.server = m->addr;
    auto opened = co_await redis::async_open(o);
    if (cancelled()) co_return out;
    if (!opened) {
      st.backend_errors.fetch_add(1, std::memory_order_relaxed);
      if (!logged) {
        log::warn("proxy", "backend unavailable",
                  {{"master", o.server.to_string()}, {"error", opened.error().message()}});
        logged = true;
      }
      if (!st.tracker || std::chrono::steady_clock::now() >= until) {
        out.error = "master " + o.server.to_string() + " unavailable: " + opened.error().message();
        co_return out;
      }
      st.tracker->suspect();
      waited = true;
      timer.expires_after(std::chrono::milliseconds(100));
      co_await timer.async_wait(use_nothrow);
      continue;
    }
    if (st.tracker) {
      auto now = st.tracker->current();
      if (!now || now->generation != m->generation) continue;  // it changed meanwhile
    }
    out.connection.emplace(master_connection{std::move(opened->stream), std::move(m), waited});
    co_return out;
  }
}

}  // namespace rsm::proxy
