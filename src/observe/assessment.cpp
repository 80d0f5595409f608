#include "rsm/observe/assessment.hpp"

#include <algorithm>
#include <map>

namespace rsm::observe {

std::string_view to_string(health h) {
  switch (h) {
    case health::healthy:
      return "healthy";
    case health::degraded:
      return "degraded";
    case health::down:
      return "down";
  }
  return "?";
}

assessment assess(const group_state& g, const assess_settings& s) {
  assessment a;
  std::vector<std::string> degraded;
  a.sentinels_known = static_cast<int>(g.sentinels.size());
  a.majority = a.sentinels_known / 2 + 1;

  // 1. Which master do the sentinels name? The one election's candidate (its ROLE is judged
  // below, with the other nodes').
  int reachable_sentinels = 0;
  bool failover = false;
  for (const auto& st : g.sentinels) {
    if (!st.reachable) {
      degraded.push_back("sentinel " + std::to_string(st.instance) + " " + st.addr.to_string() +
                         " unreachable: " + st.error);
      continue;
    }
    ++reachable_sentinels;
    if (!st.master) {
      degraded.push_back("sentinel " + std::to_string(st.instance) + " does not monitor " +
                         g.master_name);
      continue;
    }
    if (st.master->has_flag("failover_in_progress")) failover = true;
    if (!st.quorum_ok) {
      degraded.push_back("sentinel " + std::to_string(st.instance) +
                         " CKQUORUM: " + st.quorum_text);
    }
  }
  if (failover) degraded.push_back("a failover is in progress");
  const auto v = sentinel::elect(election_of(g));
  if (v.disagree) degraded.push_back("sentinels disagree on the master: " + v.reason);
  if (v.candidate) {
    a.master = v.candidate;
    a.sentinels_agreeing = v.votes;
    a.master_source = v.majority ? "sentinels" : "sentinel-epoch";
    if (!v.majority) {
      degraded.push_back("only " + std::to_string(v.votes) + " of " +
                         std::to_string(a.sentinels_known) + " sentinels name the master");
    }
  } else if (v.what == sentinel::verdict::kind::split) {
    degraded.push_back(v.reason);
  }
  if (a.sentinels_known > 0 && reachable_sentinels > 0 && reachable_sentinels - 1 < a.majority &&
      reachable_sentinels >= a.majority) {
    degraded.push_back("quorum at risk: one more sentinel failure loses the majority");
  }
  if (a.sentinels_known > 0 && reachable_sentinels < a.majority) {
    degraded.push_back("only " + std::to_string(reachable_sentinels) + " of " +
                       std::to_string(a.sentinels_known) +
                       " sentinels reachable: no failover is possible");
  }
  if (a.sentinels_known == 0) degraded.push_back("no sentinel known");

  // 2. Without a sentinel's word: the one node that says it is master (not when the sentinels
  // do name masters but split: the proxy routes to nobody then).
  if (!a.master && v.what != sentinel::verdict::kind::split) {
    std::vector<const node_state*> masters;
    for (const auto& n : g.nodes) {
      if (n.is_master()) masters.push_back(&n);
    }
    if (masters.size() == 1) {
      a.master = masters[0]->addr;
      a.master_source = "role";
      degraded.push_back("no sentinel names a master; " + masters[0]->addr.to_string() +
                         " says it is master");
    }
  }

  bool any_node =
      std::any_of(g.nodes.begin(), g.nodes.end(), [](const auto& n) { return n.reachable; });
  if (!any_node && reachable_sentinels == 0) {
    a.level = health::down;
    a.reasons.push_back("nothing reachable");
    return a;
  }
  if (!a.master) {
    a.level = health::down;
    a.reasons.push_back("no master known");
    for (auto& d : degraded) a.reasons.push_back(std::move(d));
    return a;
  }

  // 3. Is the master usable?
  const node_state* master = g.node_at(*a.master);
  std::vector<std::string> down;
  if (!master) {
    degraded.push_back("master " + a.master->to_string() + " is not among the discovered nodes");
  } else {
    a.master_instance = master->instance;
    if (!master->reachable) {
      down.push_back("master " + a.master->to_string() + " unreachable: " + master->error);
    } else if (!master->role.is_master()) {
      down.push_back("master " + a.master->to_string() + " answers ROLE " +
                     std::string(redis::to_string(master->role.type)));
    } else if (master->loading) {
      down.push_back("master " + a.master->to_string() + " is loading its data");
    }
  }

  // 4. Replicas.
  for (const auto& n : g.nodes) {
    if (master && &n == master) continue;
    auto who = "redis " + std::to_string(n.instance) + " " + n.addr.to_string();
    if (!n.reachable) {
      degraded.push_back(who + " unreachable: " + n.error);
      continue;
    }
    if (master && master->is_master() && foreign_to(n, *master)) {
      ++a.foreign_nodes;
      degraded.push_back(who + " holds " + std::to_string(n.keys) +
                         " keys of another group (no shared replication history or marker)");
      continue;
    }
    if (n.role.is_master()) {
      degraded.push_back(who + " is a second master");
      continue;
    }
    if (n.role.master != *a.master) {
      degraded.push_back(who + " replicates " + n.role.master.to_string() + ", not the master");
    }
    if (n.link_status != "up") {
      degraded.push_back(who + " replication link " +
                         (n.link_status.empty() ? "unknown" : n.link_status));
    }
    replica_lag lag{n.instance, 0, std::max(0LL, n.last_io_seconds)};
    if (master && master->reachable && master->role.is_master()) {
      lag.bytes = std::max(0LL, master->repl_offset - n.repl_offset);
    }
    a.lags.push_back(lag);
    auto max_lag_s = std::chrono::duration_cast<std::chrono::seconds>(s.max_lag).count();
    if (n.link_status == "up" && lag.seconds > max_lag_s) {
      degraded.push_back(who + " lags " + std::to_string(lag.seconds) + "s behind the master");
    }
  }

  if (!down.empty()) {
    a.level = health::down;
    a.reasons = std::move(down);
    for (auto& d : degraded) a.reasons.push_back(std::move(d));
  } else if (!degraded.empty()) {
    a.level = health::degraded;
    a.reasons = std::move(degraded);
  } else {
    a.level = health::healthy;
  }
  return a;
}

}  // namespace rsm::observe
