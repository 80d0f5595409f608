#pragma once
/// Which controller acts (sans-io). At most one `rsm ctl` of a group acts at a time; the others
/// observe, plan and serve /status as standbys.
///
/// Controllers are ranked by instance number (lainlet's InstanceNo of the `redis-ctl` procs,
/// or the position in `--peers`); the lowest one whose HTTP /status answers acts:
///   - a peer ranked ahead that answers: stand by (it acts);
///   - none ahead answers, but one ranked behind says it is active: stand by for now (it
///     sees this one answer at its next pass and stands by; then this one acts), so that a
///     controller coming back never acts beside the one that covered for it;
///   - otherwise: act.
/// A controller that does not know its own rank (no instance number) acts, as it always did.
#include "rsm/address.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rsm::ctl {

struct peer {
  int instance = 0;
  address addr;
  friend bool operator==(const peer&, const peer&) = default;
};

/// The other controllers: discovered ones (InstanceNo → HTTP address) when `static_peers` is
/// empty, else `static_peers` numbered from 1; never `self`.
std::vector<peer> peers_of(int self, const std::map<int, address>& discovered,
                           const std::vector<address>& static_peers);

/// What a peer's /status said.
struct peer_answer {
  bool answered = false;
  bool active = false;
};

struct leadership {
  bool active = true;
  /// The peer this one stands by for.
  std::optional<peer> leader;
  std::string reason;
  friend bool operator==(const leadership&, const leadership&) = default;
};

leadership decide_leadership(int self, const std::vector<peer>& peers,
                             const std::map<int, peer_answer>& answers);

}  // namespace rsm::ctl
