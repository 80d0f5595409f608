#pragma once
/// The model of a group as discovery sees it: redis nodes and sentinels keyed by InstanceNo,
/// each with its address, and the difference between two such views (sans-io).
#include "rsm/address.hpp"
#include "rsm/lainlet/procwatcher.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::topology {

enum class role { redis, sentinel };
std::string_view to_string(role r);

struct group {
  std::map<int, address> redis;
  std::map<int, address> sentinels;
  /// The controllers' HTTP addresses (`redis-ctl` procs): who else may act on the group.
  /// Not part of diff(): they are not nodes of the group.
  std::map<int, address> controllers;

  friend bool operator==(const group&, const group&) = default;
  /// "redis 1=10.0.0.1:6379 2=... sentinels 1=..." for logs.
  std::string describe() const;
};

/// What changed for one instance between two views.
struct change {
  enum class kind { added, removed, moved };
  kind what = kind::added;
  role who = role::redis;
  int instance = 0;
  std::optional<address> before;
  std::optional<address> after;

  friend bool operator==(const change&, const change&) = default;
  /// "redis 2 moved 10.0.0.2:6379 -> 10.0.0.9:6379".
  std::string describe() const;
};
std::string_view to_string(change::kind k);

/// Procs named `redis_proc` / `sentinel_proc` / `ctl_proc` with an IP and a port; others are
/// skipped (an instance without an address yet, a portal, ...).
group from_procs(const std::vector<lainlet::proc>& procs, std::string_view redis_proc,
                 std::string_view sentinel_proc, std::string_view ctl_proc = "redis-ctl");

/// Static lists: instance numbers are positions, from 1.
group from_lists(const std::vector<address>& redis, const std::vector<address>& sentinels);

/// Changes from `before` to `after`: redis first, then sentinels, each by instance.
std::vector<change> diff(const group& before, const group& after);

/// Why `after` should not replace `before`, or nothing when it may: a snapshot that removes
/// every redis node or every sentinel at once is far likelier a broken registry (a lainlet
/// restarting with an empty store, the wrong app) than a real scale-down to zero, and applying
/// it would make the proxy forget where the master is. Discovery keeps the last good snapshot.
std::optional<std::string> implausible(const group& before, const group& after);

}  // namespace rsm::topology
