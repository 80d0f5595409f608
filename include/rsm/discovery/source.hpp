#pragma once
/// Discovery: where the redis nodes and sentinels are. Every mode (proxy, ctl, watch, status,
/// up) reads the group through this interface.
///
/// A source delivers a stream of snapshots: the first one, then one per change (never an
/// unchanged one), each with what changed since the previous snapshot. Outages are handled
/// inside (retries with back-off; the last good snapshot stays the current one), so
/// `async_next` only fails when it is cancelled.
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/topology/group.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rsm::discovery {

struct update {
  topology::group group;
  /// Since the previous snapshot (everything "added" for the first one).
  std::vector<topology::change> changes;
};

/// How a source is doing, for status views and the controller's "incomplete picture" rule.
struct health {
  bool has_snapshot = false;
  bool connected = false;
  /// The last problem seen (outage, bad data), empty when none since the last good data.
  std::string last_error;
  std::uint64_t reconnects = 0;
};

class source {
 public:
  virtual ~source() = default;
  /// Waits for the next snapshot. Fails only with errc::cancelled.
  virtual awaitable<result<update>> async_next() = 0;
  /// The last snapshot delivered by async_next, if any.
  virtual std::optional<topology::group> current() const = 0;
  virtual health status() const = 0;
  /// "lainlet 10.0.0.1:9001 app=redis-service-sm" or "static".
  virtual std::string describe() const = 0;
};

/// A fixed group: delivered once, then async_next waits until cancelled.
std::unique_ptr<source> make_static(topology::group g, std::string description = "static");

struct lainlet_settings {
  address server{"lainlet.lain", 9001};
  std::string app = "redis-service-sm";
  std::string redis_proc = "redis";
  std::string sentinel_proc = "redis-sentinel";
  std::string ctl_proc = "redis-ctl";
  /// Asked of lainlet; silence longer than 3 heartbeats means a dead stream.
  std::chrono::seconds heartbeat{5};
  duration connect_timeout{std::chrono::seconds(3)};
  duration backoff_initial{std::chrono::milliseconds(200)};
  duration backoff_cap{std::chrono::seconds(10)};
};

/// Watches /v2/procwatcher/?appname=APP&heartbeat=N&watch=1 on lainlet (or its emulator).
std::unique_ptr<source> make_lainlet(lainlet_settings s);

}  // namespace rsm::discovery
