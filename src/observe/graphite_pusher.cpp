#include "rsm/observe/graphite_pusher.hpp"

#include "rsm/log.hpp"
#include "rsm/metrics/graphite.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/report.hpp"

namespace rsm::observe {

awaitable<void> async_push_graphite(graphite_settings s,
                                    std::function<const std::optional<group_state>&()> latest) {
  for (;;) {
    if (!co_await net::async_sleep(s.every)) co_return;
    const auto& state = latest();
    if (!state) continue;
    auto payload = graphite_payload(*state, s.prefix, std::chrono::system_clock::now());
    if (payload.empty()) continue;
    auto r = co_await metrics::async_graphite_push(s.server, std::move(payload),
                                                   std::chrono::seconds(5));
    if (!r) {
      log::warn(s.component, "graphite push failed",
                {{"graphite", s.server.to_string()}, {"error", r.error().message()}});
    }
  }
}

}  // namespace rsm::observe
