#include "rsm/ctl/leadership.hpp"

#include <algorithm>

namespace rsm::ctl {

std::vector<peer> peers_of(int self, const std::map<int, address>& discovered,
                           const std::vector<address>& static_peers) {
  std::vector<peer> out;
  if (!static_peers.empty()) {
    for (std::size_t i = 0; i < static_peers.size(); ++i) {
      int n = static_cast<int>(i) + 1;
      if (n != self) out.push_back({n, static_peers[i]});
    }
  } else {
    for (const auto& [n, a] : discovered)
      if (n != self) out.push_back({n, a});
  }
  std::sort(out.begin(), out.end(),
            [](const peer& a, const peer& b) { return a.instance < b.instance; });
  return out;
}

leadership decide_leadership(int self, const std::vector<peer>& peers,
                             const std::map<int, peer_answer>& answers) {
  leadership l;
  if (peers.empty()) {
    l.reason = "no other controller";
    return l;
  }
  if (self <= 0) {
    l.reason = "this controller's instance number is unknown (--instance): acting";
    return l;
  }
  auto answer = [&](const peer& p) {
    auto it = answers.find(p.instance);
    return it == answers.end() ? peer_answer{} : it->second;
  };
  for (const auto& p : peers) {  // sorted: the first answering one ahead is the leader
    if (p.instance < self && answer(p).answered) {
      l.active = false;
      l.leader = p;
      l.reason = "controller " + std::to_string(p.instance) + " " + p.addr.to_string() +
                 " ranks ahead and answers";
      return l;
    }
  }
  for (const auto& p : peers) {
    if (p.instance > self && answer(p).answered && answer(p).active) {
      l.active = false;
      l.leader = p;
      l.reason = "controller " + std::to_string(p.instance) + " " + p.addr.to_string() +
                 " is still active; waiting for it to stand by";
      return l;
    }
  }
  l.reason = "no controller ranked ahead answers";
  return l;
}

}  // namespace rsm::ctl
