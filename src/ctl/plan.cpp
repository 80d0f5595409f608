#include "rsm/ctl/plan.hpp"

#include <algorithm>
#include <set>

namespace rsm::ctl {

std::string_view to_string(action::kind k) {
  switch (k) {
    case action::kind::replicaof:
      return "replicaof";
    case action::kind::promote:
      return "promote";
    case action::kind::sentinel_monitor:
      return "sentinel-monitor";
    case action::kind::sentinel_reset:
      return "sentinel-reset";
    case action::kind::sentinel_failover:
      return "sentinel-failover";
    case action::kind::config_set:
      return "config-set";
    case action::kind::mark_group:
      return "mark-group";
  }
  return "?";
}

std::string action::describe() const {
  std::string who = std::to_string(instance) + " " + target.to_string();
  switch (what) {
    case kind::replicaof:
      return "replicaof redis " + who + " -> " + master.to_string();
    case kind::promote:
      return "promote redis " + who;
    case kind::sentinel_monitor:
      return std::string(remove_first ? "re-monitor" : "monitor") + " on sentinel " + who + " -> " +
             master.to_string() + " quorum " + std::to_string(quorum);
    case kind::sentinel_reset:
      return "sentinel-reset on sentinel " + who;
    case kind::sentinel_failover:
      return "sentinel-failover via sentinel " + who;
    case kind::config_set:
      return "config-set redis " + who + " " + key + " " + value;
    case kind::mark_group:
      return "mark-group redis " + who + " " + observe::group_marker_library(value);
  }
  return "?";
}

std::string action::flap_key() const {
  return std::string(to_string(what)) + " " + target.to_string() + (key.empty() ? "" : " " + key);
}

int effective_quorum(const config& cfg, std::size_t sentinels) {
  return cfg.quorum > 0 ? cfg.quorum : static_cast<int>(sentinels / 2 + 1);
}

namespace {

using observe::node_state;
using observe::sentinel_state;

// Ordering by data: more replication offset, then more keys, then the lower InstanceNo.
bool more_data(const node_state* a, const node_state* b) {
  return std::make_tuple(a->repl_offset, a->keys, -a->instance) >
         std::make_tuple(b->repl_offset, b->keys, -b->instance);
}

// For promotion: a node holding keys always beats an empty one.
bool better_promotion(const node_state* a, const node_state* b) {
  return std::make_tuple(a->keys > 0, a->repl_offset, a->keys, -a->instance) >
         std::make_tuple(b->keys > 0, b->repl_offset, b->keys, -b->instance);
}

std::string held(const node_state& n) {
  return "offset " + std::to_string(n.repl_offset) + ", " + std::to_string(n.keys) + " keys";
}

std::string short_id(const std::string& id) {
  return id.empty() ? "?" : id.substr(0, 8);
}

// Rule b's choice among the nodes of a fresh group: the master, or none when histories
// conflict (`why` says so).
const node_state* choose_fresh_master(const std::vector<const node_state*>& nodes,
                                      std::string& why) {
  // The histories: nodes joined, transitively, by same_history().
  std::vector<std::vector<const node_state*>> histories;
  for (const auto* n : nodes) {
    std::vector<const node_state*> joined{n};
    std::erase_if(histories, [&](const std::vector<const node_state*>& h) {
      bool shares = std::any_of(h.begin(), h.end(),
                                [&](const node_state* m) { return same_history(*n, *m); });
      if (shares) joined.insert(joined.end(), h.begin(), h.end());
      return shares;
    });
    histories.push_back(std::move(joined));
  }
  auto newest = [](const std::vector<const node_state*>& h) {
    return *std::min_element(h.begin(), h.end(), [](const node_state* a, const node_state* b) {
      return more_data(a, b);
    });
  };
  // Within a history the newest node's data is the history's (an empty one at a higher offset
  // was FLUSHed later); across histories offsets mean nothing, and keys are what is at stake.
  std::vector<const std::vector<const node_state*>*> holding;
  for (const auto& h : histories) {
    if (std::any_of(h.begin(), h.end(), [](const node_state* n) { return n->keys > 0; }))
      holding.push_back(&h);
  }
  if (holding.size() == 1) return newest(*holding.front());
  if (holding.empty()) return newest(nodes);
  why = "fresh group: data in " + std::to_string(holding.size()) +
        " unrelated replication histories (";
  for (std::size_t i = 0; i < holding.size(); ++i) {
    const auto* n = newest(*holding[i]);
    long long keys = 0;
    for (const auto* m : *holding[i]) keys = std::max(keys, m->keys);
    why += (i ? "; " : "") + std::string("redis ") + std::to_string(n->instance) + " " +
           n->addr.to_string() + " replid " + short_id(n->replication_id) + ", " +
           std::to_string(keys) + " keys";
  }
  why +=
      "): any master would wipe the others' keys; not choosing. Choose one: POST "
      "/choose-master?addr=HOST:PORT to the controller, or run it with --choose-master HOST:PORT";
  return nullptr;
}

action monitor_action(const sentinel_state& s, const address& master, int quorum,
                      std::string reason) {
  action a;
  a.what = action::kind::sentinel_monitor;
  a.target = s.addr;
  a.instance = s.instance;
  a.master = master;
  a.remove_first = s.master.has_value();
  a.quorum = quorum;
  a.reason = std::move(reason);
  return a;
}

action replicaof_action(const node_state& n, const address& master, std::string reason) {
  action a;
  a.what = action::kind::replicaof;
  a.target = n.addr;
  a.instance = n.instance;
  a.master = master;
  a.reason = std::move(reason);
  return a;
}

std::optional<address> address_of(const sentinel::fields& f) {
  auto ip = f.find("ip");
  auto port = f.find("port");
  if (ip == f.end() || port == f.end()) return std::nullopt;
  try {
    return address{ip->second, static_cast<std::uint16_t>(std::stoi(port->second))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void apply_anti_flap(plan_result& r, const plan_input& in, const config& cfg, const memory& mem) {
  std::vector<action> kept;
  for (auto& a : r.actions) {
    auto it = mem.last_acted.find(a.flap_key());
    if (it != mem.last_acted.end() && in.now - it->second < cfg.flap_window) {
      auto ago = std::chrono::duration_cast<std::chrono::seconds>(in.now - it->second).count();
      r.notes.push_back("held back (anti-flap, acted " + std::to_string(ago) +
                        "s ago): " + a.describe());
      continue;
    }
    kept.push_back(std::move(a));
  }
  r.actions = std::move(kept);
}

}  // namespace

plan_result plan(const plan_input& in, const config& cfg, const memory& mem) {
  plan_result r;
  const auto& g = in.observed;
  auto stop = [&](std::string rule, std::string note) {
    r.rule = std::move(rule);
    r.notes.push_back(std::move(note));
    return r;
  };

  // a. Incomplete picture.
  if (!in.discovery_ok) return stop("a", "incomplete picture: discovery has not answered");
  if (in.discovered.redis.size() < 2) {
    return stop("a", "incomplete picture: fewer than 2 redis nodes discovered");
  }
  if (in.discovered.sentinels.empty())
    return stop("a", "incomplete picture: no sentinel discovered");
  int n_sentinels = static_cast<int>(in.discovered.sentinels.size());
  int majority = n_sentinels / 2 + 1;
  int reachable_sentinels = 0;
  for (const auto& s : g.sentinels) reachable_sentinels += s.reachable;
  if (reachable_sentinels < majority) {
    return stop("a", "incomplete picture: only " + std::to_string(reachable_sentinels) + " of " +
                         std::to_string(n_sentinels) + " sentinels reachable");
  }
  int quorum = effective_quorum(cfg, in.discovered.sentinels.size());

  std::vector<const node_state*> reachable, unreachable;
  for (const auto& n : g.nodes) (n.reachable ? reachable : unreachable).push_back(&n);
  std::vector<const sentinel_state*> monitoring;
  bool failover = false;
  for (const auto& s : g.sentinels) {
    if (!s.reachable || !s.master) continue;
    monitoring.push_back(&s);
    if (s.master->has_flag("failover_in_progress")) failover = true;
  }
  bool replicates = std::any_of(reachable.begin(), reachable.end(), [](const node_state* n) {
    return n->role.is_replica() || n->connected_replicas > 0;
  });

  // b. A fresh group: choose the master by data.
  if (monitoring.empty() && !replicates) {
    r.rule = "b";
    if (!unreachable.empty()) {
      r.notes.push_back(
          "fresh group: waiting for every node to answer before choosing the master (" +
          std::to_string(unreachable.size()) + " not answering)");
      return r;
    }
    const node_state* best = nullptr;
    std::string why;
    if (in.chosen_master) {
      best = g.node_at(*in.chosen_master);
      if (best == nullptr || !best->reachable) {
        r.needs_operator = true;
        r.notes.push_back("fresh group: the operator chose " + in.chosen_master->to_string() +
                          ", which is not a discovered node that answers");
        return r;
      }
      r.notes.push_back("fresh group: master " + best->addr.to_string() +
                        " chosen by the operator");
    } else {
      best = choose_fresh_master(reachable, why);
    }
    if (best == nullptr) {
      r.needs_operator = true;
      r.notes.push_back(std::move(why));
      return r;
    }
    r.master = best->addr;
    for (const auto* n : reachable) {
      if (n == best) continue;
      r.actions.push_back(replicaof_action(*n, best->addr,
                                           "fresh group: master is redis " +
                                               std::to_string(best->instance) + " (" + held(*best) +
                                               "), this node has " + held(*n)));
    }
    for (const auto& s : g.sentinels) {
      if (!s.reachable) continue;
      r.actions.push_back(
          monitor_action(s, best->addr, quorum, "fresh group: register the master"));
    }
    apply_anti_flap(r, in, cfg, mem);
    return r;
  }

  // The agreed master: the one election (sentinel/election.hpp) over the sentinels' answers
  // and the nodes' ROLE, the previous pass's master keeping a tie.
  const auto verdict = sentinel::elect(observe::election_of(g, n_sentinels, mem.master));
  const node_state* master = nullptr;
  bool sentinel_backed = false;
  if (verdict.master) {
    master = g.node_at(*verdict.master);
    // Backed: a majority of the sentinels, or every one that monitors the name.
    sentinel_backed = master != nullptr && (verdict.majority || !verdict.disagree);
  }
  if (!master && monitoring.empty()) {
    // The sentinels lost their configuration but the nodes still replicate: the one master.
    std::vector<const node_state*> masters;
    for (const auto* n : reachable) {
      if (n->role.is_master()) masters.push_back(n);
    }
    if (masters.size() == 1) master = masters[0];
  }

  // c. Never fight Sentinel.
  if (failover) return stop("c", "a failover is in progress: no action");

  // g. Empty-master guard.
  if (master && sentinel_backed && mem.master == master->addr && !mem.master_run_id.empty() &&
      master->run_id != mem.master_run_id && master->keys == 0) {
    const node_state* rich = nullptr;
    for (const auto* n : reachable) {
      if (n != master && n->keys > 0 && (!rich || n->keys > rich->keys)) rich = n;
    }
    if (rich) {
      action a;
      a.what = action::kind::sentinel_failover;
      a.target = monitoring.front()->addr;
      a.instance = monitoring.front()->instance;
      a.master = master->addr;
      a.reason = "master " + master->addr.to_string() +
                 " restarted empty (run_id changed, 0 keys) while redis " +
                 std::to_string(rich->instance) + " holds " + std::to_string(rich->keys) +
                 " keys: fail over instead of letting replicas sync an empty dataset";
      r.rule = "g";
      r.master = master->addr;
      r.actions.push_back(std::move(a));
      apply_anti_flap(r, in, cfg, mem);
      return r;
    }
  }

  // h. No master at all.
  if (!master) {
    bool any_master = std::any_of(reachable.begin(), reachable.end(),
                                  [](const node_state* n) { return n->role.is_master(); });
    r.rule = "h";
    if (any_master) {
      r.notes.push_back("no agreed master: " +
                        (verdict.candidate
                             ? "the sentinels name " + verdict.candidate->to_string() + " (" +
                                   std::to_string(verdict.votes) + " of " +
                                   std::to_string(n_sentinels) + "): "
                             : std::string()) +
                        verdict.reason + "; leaving it to Sentinel");
      return r;
    }
    if (cfg.no_promote) {
      r.notes.push_back("no master, and --no-promote: leaving it to Sentinel");
      return r;
    }
    if (in.named_undiscovered && in.named_undiscovered->is_master()) {
      r.notes.push_back("the sentinels name " + in.named_undiscovered->addr.to_string() +
                        ", which discovery does not list, and it answers ROLE master: not "
                        "promoting a second master (check discovery)");
      return r;
    }
    if (!mem.masterless_since || in.now - *mem.masterless_since <= cfg.failover_timeout) {
      r.notes.push_back("no master: waiting for Sentinel to elect one (up to failover-timeout " +
                        rsm::to_string(cfg.failover_timeout) + ")");
      return r;
    }
    std::vector<const node_state*> candidates;
    for (const auto* n : reachable) {
      if (n->role.is_replica() && !n->loading) candidates.push_back(n);
    }
    if (candidates.empty()) {
      r.notes.push_back("no master and no replica to promote");
      return r;
    }
    auto best = *std::min_element(
        candidates.begin(), candidates.end(),
        [](const node_state* a, const node_state* b) { return better_promotion(a, b); });
    action p;
    p.what = action::kind::promote;
    p.target = best->addr;
    p.instance = best->instance;
    p.reason =
        "no master for longer than failover-timeout and Sentinel elected none: promote the replica "
        "with the most data (" +
        held(*best) + ")";
    r.actions.push_back(std::move(p));
    for (const auto& s : g.sentinels) {
      if (s.reachable)
        r.actions.push_back(
            monitor_action(s, best->addr, quorum, "point the sentinels at the promoted master"));
    }
    r.master = best->addr;
    apply_anti_flap(r, in, cfg, mem);
    return r;
  }
  r.master = master->addr;
  if (!sentinel_backed && !monitoring.empty()) {
    // The master by a newer config-epoch (or kept on a split), not by a majority: the sentinels
    // behind learn it from their peers' hellos, and Sentinel reconfigures the nodes. Acting on
    // a minority's word could demote a master that holds writes; wait for a majority.
    r.notes.push_back("master " + master->addr.to_string() + ": " + verdict.reason + " (" +
                      std::to_string(verdict.votes) + " of " + std::to_string(n_sentinels) +
                      " sentinels); no action until a majority names it");
    return r;
  }

  // d. Sentinels monitoring nothing, or another address.
  for (const auto& s : g.sentinels) {
    if (!s.reachable) continue;
    if (!s.master) {
      r.actions.push_back(monitor_action(s, master->addr, quorum, "sentinel monitors nothing"));
    } else if (s.master->addr != master->addr) {
      r.actions.push_back(monitor_action(
          s, master->addr, quorum,
          "sentinel monitors " + s.master->addr.to_string() + ", not the agreed master"));
    }
  }
  if (!r.actions.empty()) r.rule = "d";

  // e. Replicas of the wrong master, and second masters.
  std::size_t before_e = r.actions.size();
  for (const auto* n : reachable) {
    if (n == master) continue;
    if (observe::foreign_to(*n, *master)) {
      // Another dataset (a reused address, the wrong app in discovery): never synced over.
      r.foreign.push_back(n->addr);
      r.notes.push_back(
          "redis " + std::to_string(n->instance) + " " + n->addr.to_string() +
          " is not of this group (" + held(*n) + ", no replication history shared with the master" +
          (master->group_marker.empty()
               ? std::string()
               : ", no marker " + observe::group_marker_library(master->group_marker)) +
          "): left alone");
      continue;
    }
    if (n->role.is_master() && !same_history(*n, *master) && n->keys > master->keys) {
      // Its offset says nothing against the master's, and a sync would wipe more keys than
      // the master holds: only the operator may decide which dataset survives.
      r.needs_operator = true;
      r.notes.push_back("second master " + n->addr.to_string() + " holds " + held(*n) +
                        " of another replication history, more than the master " +
                        master->addr.to_string() + " (" + held(*master) +
                        "): not demoting it; save its data, then REPLICAOF it by hand, or make "
                        "it the master with SENTINEL FAILOVER");
    } else if (n->role.is_master()) {
      r.actions.push_back(replicaof_action(
          *n, master->addr, "second master; demoting it (it held " + held(*n) + ")"));
    } else if (n->role.master != master->addr) {
      r.actions.push_back(
          replicaof_action(*n, master->addr,
                           "replica of " + n->role.master.to_string() + ", not the agreed master"));
    }
  }
  if (r.rule.empty() && r.actions.size() > before_e) r.rule = "e";

  // f. Stale sentinel entries: one sentinel per pass, only when all else is in order.
  if (r.actions.empty()) {
    std::set<address> redis_known, sentinels_known;
    for (const auto& [i, a] : in.discovered.redis) redis_known.insert(a);
    for (const auto& [i, a] : in.discovered.sentinels) sentinels_known.insert(a);
    for (const auto& s : g.sentinels) {
      if (!s.reachable || !s.master) continue;
      std::string stale;
      for (const auto& rep : s.replicas) {
        auto a = address_of(rep);
        if (a && !redis_known.count(*a)) stale += " replica " + a->to_string();
      }
      for (const auto& other : s.sentinels) {
        auto a = address_of(other);
        if (a && !sentinels_known.count(*a)) stale += " sentinel " + a->to_string();
      }
      if (stale.empty()) continue;
      action a;
      a.what = action::kind::sentinel_reset;
      a.target = s.addr;
      a.instance = s.instance;
      a.master = master->addr;
      a.reason = "stale entries not in discovery:" + stale;
      r.actions.push_back(std::move(a));
      r.rule = "f";
      break;
    }
  }

  // i. Replica safety settings.
  if (cfg.min_replicas_to_write > 0) {
    std::size_t before_i = r.actions.size();
    auto lag = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(cfg.min_replicas_max_lag).count());
    for (const auto* n : reachable) {
      if (observe::foreign_to(*n, *master)) continue;
      for (const auto& [k, v] :
           {std::pair<std::string, std::string>{"min-replicas-to-write",
                                                std::to_string(cfg.min_replicas_to_write)},
            std::pair<std::string, std::string>{"min-replicas-max-lag", lag}}) {
        auto it = n->config.find(k);
        if (it != n->config.end() && it->second == v) continue;
        action a;
        a.what = action::kind::config_set;
        a.target = n->addr;
        a.instance = n->instance;
        a.key = k;
        a.value = v;
        a.reason = "replica safety: " + k + " is " +
                   (it == n->config.end() ? std::string("unknown") : it->second) + ", want " + v;
        r.actions.push_back(std::move(a));
      }
    }
    if (r.rule.empty() && r.actions.size() > before_i) r.rule = "i";
  }

  // j. The group marker, once all else is in order: on the master, whence it replicates.
  if (cfg.group_marker && r.actions.empty() && master->group_marker.empty() &&
      master->has_functions && !in.new_group_id.empty()) {
    action a;
    a.what = action::kind::mark_group;
    a.target = master->addr;
    a.instance = master->instance;
    a.master = master->addr;
    a.value = in.new_group_id;
    a.reason =
        "the master carries no group marker: mark the group (replicates to every "
        "replica, tells this group's nodes from a foreign dataset)";
    r.rule = "j";
    r.actions.push_back(std::move(a));
  }
  apply_anti_flap(r, in, cfg, mem);
  return r;
}

void remember(memory& mem, const plan_input& in, const plan_result& p,
              const std::vector<action>& done) {
  const auto& g = in.observed;
  bool any_master =
      std::any_of(g.nodes.begin(), g.nodes.end(), [](const auto& n) { return n.is_master(); }) ||
      (in.named_undiscovered && in.named_undiscovered->is_master());
  if (any_master) {
    mem.masterless_since.reset();
  } else if (!mem.masterless_since && in.discovery_ok && !g.nodes.empty()) {
    mem.masterless_since = in.now;
  }
  if (p.master) {
    if (const auto* m = g.node_at(*p.master); m && m->is_master()) {
      mem.master = m->addr;
      mem.master_run_id = m->run_id;
    }
  }
  for (const auto& a : done) mem.last_acted[a.flap_key()] = in.now;
}

}  // namespace rsm::ctl
