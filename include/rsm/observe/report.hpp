#pragma once
/// Renderings of an observation: the JSON of `rsm status --json`, the terminal table, and the
/// Prometheus metrics (redis_exporter names) that `rsm watch` and `rsm ctl` serve.
#include "rsm/metrics/prometheus.hpp"
#include "rsm/observe/assessment.hpp"
#include "rsm/observe/state.hpp"

#include <optional>
#include <string>

namespace rsm::observe {

/// Extra context for the renderings.
struct report_context {
  std::string discovery;        // "lainlet 10.0.0.1:9001 app=..."
  std::string discovery_error;  // the source's last problem, if any
  /// `rsm status --proxy`: what the proxy's /metrics said (rsm_proxy_* samples), or an error.
  std::optional<metrics::parsed_exposition> proxy;
  std::string proxy_address;
  std::string proxy_error;
  /// `rsm status --ctl`: the controller's /status, summarised.
  std::string ctl_address;
  std::string ctl_error;
  bool ctl_paused = false;
  bool ctl_dry_run = false;
  std::string ctl_last_rule;
};

/// The documented JSON document (docs/status.md), one line.
std::string to_json(const group_state& g, const assessment& a, const report_context& c);

/// A human-readable table; ANSI colours only when `color`.
std::string to_table(const group_state& g, const assessment& a, const report_context& c,
                     bool color);

/// The original redis-ctl's Graphite lines for every reachable node.
std::string graphite_payload(const group_state& g, std::string_view prefix,
                             std::chrono::system_clock::time_point now);

/// redis_up, redis_connected_clients, ... labelled by instance, role and addr; sentinel_up;
/// rsm_group_* gauges.
void add_metrics(metrics::exposition& e, const group_state& g, const assessment& a);

}  // namespace rsm::observe
