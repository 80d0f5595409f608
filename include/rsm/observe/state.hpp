#pragma once
/// What one observation pass saw of the group: every redis node and every sentinel.
/// Shared by `rsm status`, `rsm watch` and the controller (`rsm ctl`).
#include "rsm/address.hpp"
#include "rsm/redis/info.hpp"
#include "rsm/redis/role.hpp"
#include "rsm/sentinel/commands.hpp"
#include "rsm/sentinel/election.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rsm::observe {

struct node_state {
  int instance = 0;
  address addr;
  bool reachable = false;
  /// Why it is unreachable (connect refused, timed out, NOAUTH, ...).
  std::string error;

  redis::role_info role;
  std::string run_id;
  std::string replication_id;
  /// The replication id it had before it last became a master (master_replid2; all zeros:
  /// none). Offsets of two nodes are comparable only within one history (ctl::same_history()).
  std::string replication_id2;
  /// master_repl_offset for a master; slave_repl_offset for a replica.
  long long repl_offset = 0;
  /// Replica only: master_link_status ("up"/"down"), seconds since the last I/O with the
  /// master, and whether a sync is running.
  std::string link_status;
  long long last_io_seconds = -1;
  bool sync_in_progress = false;
  bool loading = false;
  long long keys = 0;
  long long used_memory = 0;
  long long clients = 0;
  long long connected_replicas = 0;
  long long uptime_seconds = 0;
  long long commands_processed = 0;
  /// The whole INFO reply, for metrics.
  redis::info info;
  /// CONFIG GET of the keys the observer was asked for (settings::config_keys).
  std::map<std::string, std::string> config;
  /// The group marker it carries (see group_marker_library), empty when none; and whether
  /// it can carry one at all (Redis 7 functions).
  std::string group_marker;
  bool has_functions = false;

  bool is_master() const { return reachable && role.is_master(); }
};

struct sentinel_state {
  int instance = 0;
  address addr;
  bool reachable = false;
  std::string error;
  /// SENTINEL MASTER <name>; empty when the sentinel does not monitor the name.
  std::optional<sentinel::master_view> master;
  /// SENTINEL CKQUORUM <name>.
  bool quorum_ok = false;
  std::string quorum_text;
  std::vector<sentinel::fields> replicas;
  std::vector<sentinel::fields> sentinels;
};

struct group_state {
  std::string master_name;
  std::vector<node_state> nodes;
  std::vector<sentinel_state> sentinels;
  std::chrono::system_clock::time_point observed_at{};

  const node_state* node_at(const address& a) const;
  const node_state* node(int instance) const;
};

/// Whether the replication offsets of `a` and `b` count along one history (Redis's PSYNC
/// rule): the same replication id, or one's previous id (replid2) is the other's id.
bool same_history(const node_state& a, const node_state& b);

/// The group marker: a Redis function library `rsm_group_<id>` the controller loads on the
/// master. Functions replicate to every replica, persist in the RDB and AOF, survive
/// FLUSHALL, and are neither keys nor seen by SCAN or DBSIZE (docs/ctl.md, "Group identity").
inline constexpr std::string_view k_group_library_prefix = "rsm_group_";
std::string group_marker_library(std::string_view id);
/// The FUNCTION LOAD source of the marker: one read-only function returning the id.
std::string group_marker_code(std::string_view id);
/// The marker id in a FUNCTION LIST reply, empty when none.
std::string group_marker_in(const resp::reply& function_list);

/// Whether `n` belongs to another dataset than `master`'s group and must not be touched: it
/// holds keys, shares no replication history with the master, and does not carry the
/// master's group marker. (An empty node is never foreign: a sync loses nothing.)
bool foreign_to(const node_state& n, const node_state& master);

/// The election's input from one observation: a ballot per reachable sentinel, a ROLE answer
/// per reachable node (master, busy while loading, else not master), and `known` sentinels
/// (0: as many as were observed).
sentinel::election election_of(const group_state& g, int known = 0,
                               std::optional<address> incumbent = std::nullopt);

}  // namespace rsm::observe
