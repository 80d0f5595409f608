#pragma once
/// Pushes the latest observation's node metrics to Graphite every period, in the original
/// redis-ctl's key shape (see rsm/metrics/graphite.hpp). `rsm ctl` and `rsm watch` run it.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/observe/state.hpp"

#include <functional>
#include <optional>
#include <string>

namespace rsm::observe {

struct graphite_settings {
  address server;
  /// "lain_local.redis_service_sm" (metrics::graphite_prefix).
  std::string prefix;
  duration every{std::chrono::seconds(60)};
  /// The log component failures are reported under ("ctl", "watch").
  std::string component = "graphite";
};

/// Until cancelled: every period, the lines of `latest()` (skipped while it is empty) in one
/// push; a failed push is logged and the next period tries again.
awaitable<void> async_push_graphite(graphite_settings s,
                                    std::function<const std::optional<group_state>&()> latest);

}  // namespace rsm::observe
