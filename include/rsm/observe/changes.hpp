#pragma once
/// What changed between two observations, as the lines `rsm watch` prints (sans-io).
#include "rsm/observe/assessment.hpp"
#include "rsm/observe/state.hpp"
#include "rsm/sentinel/event.hpp"
#include "rsm/topology/group.hpp"

#include <string>
#include <utility>
#include <vector>

namespace rsm::observe {

/// One reported change: a kind ("master-switch", "node-down", ...) and its fields.
struct change_event {
  std::string kind;
  std::vector<std::pair<std::string, std::string>> fields;

  std::string field(std::string_view k) const;
  friend bool operator==(const change_event&, const change_event&) = default;
};

/// Node, link, lag, sentinel and health changes from `before` to `after`. Master switches are
/// not included: the caller tracks the master (it also learns it from Sentinel's events).
///
/// Kinds: node-up, node-down, role-changed, link-up, link-down, lag-high, lag-ok,
/// sentinel-up, sentinel-down, health.
std::vector<change_event> compare(const group_state& before, const assessment& before_a,
                                  const group_state& after, const assessment& after_a,
                                  const assess_settings& s);

/// instance-added, instance-removed, instance-moved.
std::vector<change_event> from_discovery(const std::vector<topology::change>& changes);

/// A Sentinel event about `master_name` as a line: sdown, sdown-cleared, odown,
/// odown-cleared, failover-end, reset-master, ... (nothing for other masters' events).
/// +switch-master is handled by the caller (it dedupes the sentinels' copies).
std::optional<change_event> from_sentinel(const sentinel::event& e, std::string_view master_name,
                                          const address& from);

}  // namespace rsm::observe
