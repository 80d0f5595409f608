#pragma once
/// Which address is the master, from what the sentinels say and what the nodes answer to ROLE
/// (sans-io). One rule for every part of rsm that needs a master: the proxy's tracker, the
/// controller's planner and the status assessment.
///
///   1. The highest config-epoch wins: a higher epoch only comes from a failover that a
///      majority of the sentinels authorized, so sentinels naming an older master are behind.
///      (A sentinel re-pointed by hand with SENTINEL MONITOR starts over at epoch 0.)
///   2. Within that epoch, one address is the candidate; several are decided by a majority of
///      the known sentinels, else the incumbent keeps it if it is among them, else nobody.
///   3. The candidate is the master only once it answers ROLE master.
#include "rsm/address.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::sentinel {

/// One answering sentinel's word on the master name.
struct ballot {
  /// The address it names; nothing when it does not monitor the name.
  std::optional<address> names;
  long long config_epoch = 0;
};

/// What a node answered to ROLE.
enum class role_seen { unknown, master, not_master, busy };

struct election {
  /// One per sentinel that answered (unreachable sentinels cast none).
  std::vector<ballot> ballots;
  /// Sentinels discovered, answering or not: a majority is known / 2 + 1.
  int known = 0;
  /// ROLE answers by address; a candidate missing here is `unknown`.
  std::map<address, role_seen> roles;
  /// The master in use until now, which keeps a tie within the top epoch.
  std::optional<address> incumbent;
};

struct verdict {
  enum class kind {
    elected,        // `master` is set
    no_answer,      // no sentinel answered
    none_monitors,  // the answering sentinels monitor nothing under the name
    split,          // several addresses in the top epoch, no majority, no incumbent among them
    unconfirmed,    // a candidate whose ROLE is not known yet
    not_master,     // the candidate answers ROLE, but not master
    busy,           // the candidate answers -BUSY / -LOADING (a long script, loading)
  };
  kind what = kind::no_answer;
  /// The sentinels' choice (set from `unconfirmed` on).
  std::optional<address> candidate;
  /// The candidate once it answers ROLE master.
  std::optional<address> master;
  /// Ballots naming the candidate, the candidate's epoch, and whether those ballots are a
  /// majority of the known sentinels.
  int votes = 0;
  long long epoch = 0;
  bool majority = false;
  /// The ballots name more than one address.
  bool disagree = false;
  /// One line for logs and plans: why this verdict.
  std::string reason;
};
std::string_view to_string(verdict::kind k);

verdict elect(const election& e);

}  // namespace rsm::sentinel
