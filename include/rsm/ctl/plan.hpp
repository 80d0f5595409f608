#pragma once
/// The controller's decisions: a pure function from what was observed (and what the previous
/// passes remembered) to a list of actions, each with its reason. No I/O: every rule is
/// table-tested (tests/unit/plan_test.cpp).
///
/// Rules, in order (the first that applies decides the pass):
///   a. incomplete picture: no discovery answer, fewer than 2 redis nodes, no sentinel, or most
///      sentinels unreachable → nothing;
///   b. fresh group (no sentinel monitors the name, no node replicates): the master is chosen by
///      data, and every node must answer first; REPLICAOF it on the others; MONITOR + SET on
///      every sentinel. Replication offsets are compared only within one history
///      (same_history()): the newest node of the one history that holds keys — highest offset,
///      then most keys, then lowest InstanceNo. When two histories both hold keys, nothing is
///      chosen (any choice would wipe one): the plan says why and waits for the operator's
///      choice (`rsm ctl --choose-master`, POST /choose-master). With no keys anywhere, the
///      highest offset, then the lowest InstanceNo;
///   c. a failover in progress → nothing (never fight Sentinel);
///   g. empty-master guard: the master restarted (new run_id), holds no keys, and a replica has
///      data → SENTINEL FAILOVER rather than let the replicas sync an empty dataset;
///   h. no master, and Sentinel has not elected one for longer than failover-timeout → promote
///      the replica with the most data (never an empty one over one with data) and point every
///      sentinel at it; off with --no-promote;
///   d. a sentinel monitoring nothing, or another address than the agreed master → REMOVE,
///      MONITOR, SET (only when the address really differs);
///   e. a replica of the wrong master, or a second master → REPLICAOF the agreed master;
///   f. stale sentinel entries (replicas or sentinels the discovery does not show) →
///      SENTINEL RESET on one sentinel per pass, never during a failover or with the master down;
///   i. min-replicas-to-write / -max-lag differing on a node → CONFIG SET.
/// Actions on a target acted upon recently are held back (anti-flap), and said so.
#include "rsm/duration.hpp"
#include "rsm/observe/state.hpp"
#include "rsm/topology/group.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rsm::ctl {

struct config {
  std::string master_name = "master_service";
  /// 0: a majority of the discovered sentinels.
  int quorum = 0;
  duration down_after{std::chrono::seconds(30)};
  int parallel_syncs = 1;
  duration failover_timeout{std::chrono::minutes(3)};
  bool no_promote = false;
  /// Rule j: mark the group with a function library on the master (observe::foreign_to).
  bool group_marker = true;
  int min_replicas_to_write = 0;
  duration min_replicas_max_lag{std::chrono::seconds(10)};
  /// Anti-flap: the same action on the same target waits at least this long.
  duration flap_window{std::chrono::seconds(30)};
};

struct action {
  enum class kind {
    replicaof,          // REPLICAOF master (target: a redis node)
    promote,            // REPLICAOF NO ONE
    sentinel_monitor,   // [REMOVE] + MONITOR + SET on a sentinel
    sentinel_reset,     // SENTINEL RESET name, then wait until it re-learned the group
    sentinel_failover,  // SENTINEL FAILOVER name
    config_set,         // CONFIG SET key value on a redis node
    mark_group,         // FUNCTION LOAD the group marker (value: its id) on the master
  };
  kind what = kind::replicaof;
  /// The node or sentinel acted upon.
  address target;
  int instance = 0;
  /// replicaof / sentinel_monitor: the master; promote: unused.
  address master;
  /// sentinel_monitor: whether a REMOVE comes first, and the quorum.
  bool remove_first = false;
  int quorum = 0;
  /// config_set: the key and value.
  std::string key;
  std::string value;
  /// Why, in words, for the log and /status.
  std::string reason;

  /// "replicaof redis 2 10.0.0.2:6379 -> 10.0.0.1:6379" style.
  std::string describe() const;
  /// Identifies the target for anti-flap ("replicaof 10.0.0.2:6379").
  std::string flap_key() const;
};
std::string_view to_string(action::kind k);

/// What the controller remembers between passes.
struct memory {
  /// The master seen by the previous pass and its run_id.
  std::optional<address> master;
  std::string master_run_id;
  /// Since when no node has been ROLE master (rule h).
  std::optional<std::chrono::steady_clock::time_point> masterless_since;
  /// flap_key → when it was last acted upon.
  std::map<std::string, std::chrono::steady_clock::time_point> last_acted;
};

struct plan_input {
  /// False until discovery answered.
  bool discovery_ok = false;
  /// The operator's choice of master for a fresh group whose histories conflict (rule b).
  std::optional<address> chosen_master;
  topology::group discovered;
  observe::group_state observed;
  /// The marker id the controller gives a group whose master carries none (rule j).
  std::string new_group_id;
  /// The master the sentinels name when discovery does not list it, observed on its own
  /// (rule h never promotes while it answers ROLE master).
  std::optional<observe::node_state> named_undiscovered;
  std::chrono::steady_clock::time_point now{};
};

struct plan_result {
  std::vector<action> actions;
  /// The rule that decided ("a".."i", or "" when the group needs nothing).
  std::string rule;
  /// Why nothing (more) was done: incomplete picture, failover in progress, held back, ...
  std::vector<std::string> notes;
  /// The master the plan works towards, if any.
  std::optional<address> master;
  /// Rule b found data in more than one history: only the operator can choose a master.
  bool needs_operator = false;
  /// Nodes of another group (observe::foreign_to the master), left alone.
  std::vector<address> foreign;
};

using observe::same_history;

plan_result plan(const plan_input& in, const config& cfg, const memory& mem);

/// After acting: remembers the master, masterless time and anti-flap times.
void remember(memory& mem, const plan_input& in, const plan_result& p,
              const std::vector<action>& done);

/// The quorum the controller registers: cfg.quorum, or ⌊n/2⌋+1 of the known sentinels.
int effective_quorum(const config& cfg, std::size_t sentinels);

}  // namespace rsm::ctl
