#pragma once
/// One observation pass: every node (ROLE + INFO) and every sentinel (SENTINEL MASTER,
/// CKQUORUM, REPLICAS, SENTINELS), all at once, each bounded by `timeout`. A node that does
/// not answer in time (even a SIGSTOPped one) is marked unreachable; the pass never waits
/// longer than `timeout` plus scheduling.
#include "rsm/duration.hpp"
#include "rsm/net/asio.hpp"
#include "rsm/observe/state.hpp"
#include "rsm/redis/options.hpp"
#include "rsm/topology/group.hpp"

#include <string>
#include <vector>

namespace rsm::observe {

struct settings {
  std::string master_name = "master_service";
  redis::credentials redis;     // to the redis nodes
  redis::credentials sentinel;  // to the sentinels
  duration timeout{std::chrono::seconds(2)};
  /// CONFIG GET these on every node (the controller checks min-replicas-* with them).
  std::vector<std::string> config_keys;
};

awaitable<group_state> async_observe(topology::group where, settings s);

/// One node outside the discovered group (instance 0), observed as async_observe does: the
/// controller asks the master the sentinels name when discovery does not list it.
awaitable<node_state> async_observe_node(address a, settings s);

/// Fills a node_state's fields from ROLE and INFO replies (sans-io; exposed for tests).
void apply_node_replies(node_state& n, const resp::reply& role, const resp::reply& info);

}  // namespace rsm::observe
