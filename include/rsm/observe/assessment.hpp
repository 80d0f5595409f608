#pragma once
/// How healthy the group is, from one observation (sans-io: a pure function).
///
/// - **down** (exit 2): no usable master — nothing reachable, no master known, or the master
///   does not answer / does not say ROLE master.
/// - **degraded** (exit 1): a usable master, but a replica is down, not linked, following
///   another master or lagging past `max_lag`; a second master; sentinels unreachable,
///   disagreeing, not monitoring, failing CKQUORUM, or one failure away from losing the
///   majority; a failover in progress.
/// - **healthy** (exit 0): none of the above.
///
/// The master is the address a majority of all known sentinels name (ties between equally
/// named addresses go to the higher config-epoch); without a sentinel majority, the one node
/// that says ROLE master, marked as such.
#include "rsm/duration.hpp"
#include "rsm/observe/state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace rsm::observe {

enum class health { healthy = 0, degraded = 1, down = 2 };
std::string_view to_string(health h);

struct replica_lag {
  int instance = 0;
  long long bytes = 0;    // master offset − replica offset (0 when unknown)
  long long seconds = 0;  // master_last_io_seconds_ago
};

struct assessment {
  health level = health::down;
  std::vector<std::string> reasons;
  std::optional<address> master;
  std::optional<int> master_instance;
  /// "sentinels" (a majority names it), "sentinel-epoch" (no majority: highest epoch),
  /// "role" (no sentinel names one: the single node saying ROLE master), or "".
  std::string master_source;
  /// Sentinels naming the master, sentinels known, and the majority needed.
  int sentinels_agreeing = 0;
  /// Discovered nodes of another group (observe::foreign_to the master).
  int foreign_nodes = 0;
  int sentinels_known = 0;
  int majority = 0;
  std::vector<replica_lag> lags;
};

struct assess_settings {
  duration max_lag{std::chrono::seconds(10)};
};

assessment assess(const group_state& g, const assess_settings& s);

}  // namespace rsm::observe
