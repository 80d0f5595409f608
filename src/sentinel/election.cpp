#include "rsm/sentinel/election.hpp"

#include <algorithm>

namespace rsm::sentinel {

std::string_view to_string(verdict::kind k) {
  switch (k) {
    case verdict::kind::elected:
      return "elected";
    case verdict::kind::no_answer:
      return "no-answer";
    case verdict::kind::none_monitors:
      return "none-monitors";
    case verdict::kind::split:
      return "split";
    case verdict::kind::unconfirmed:
      return "unconfirmed";
    case verdict::kind::not_master:
      return "not-master";
    case verdict::kind::busy:
      return "busy";
  }
  return "?";
}

verdict elect(const election& e) {
  verdict v;
  if (e.ballots.empty()) {
    v.what = verdict::kind::no_answer;
    v.reason = "no sentinel answers";
    return v;
  }
  struct tally {
    int votes = 0;
    long long epoch = 0;
  };
  std::map<address, tally> by_address;
  for (const auto& b : e.ballots) {
    if (!b.names) continue;
    auto& t = by_address[*b.names];
    ++t.votes;
    t.epoch = std::max(t.epoch, b.config_epoch);
  }
  if (by_address.empty()) {
    v.what = verdict::kind::none_monitors;
    v.reason = "no sentinel that answers monitors the master name";
    return v;
  }
  v.disagree = by_address.size() > 1;
  const int majority = std::max(e.known, static_cast<int>(e.ballots.size())) / 2 + 1;

  long long top = 0;
  for (const auto& [a, t] : by_address) top = std::max(top, t.epoch);
  std::vector<std::pair<address, tally>> at_top;
  for (const auto& [a, t] : by_address)
    if (t.epoch == top) at_top.emplace_back(a, t);

  auto count = [&](const address& a) { return by_address.at(a).votes; };
  std::string epoch_text = "config-epoch " + std::to_string(top);
  if (at_top.size() == 1) {
    v.candidate = at_top.front().first;
    v.reason = v.disagree ? "the highest " + epoch_text + " names it" : "every sentinel names it";
  } else {
    for (const auto& [a, t] : at_top)
      if (t.votes >= majority) v.candidate = a;
    if (v.candidate) {
      v.reason = "a majority names it within " + epoch_text;
    } else if (e.incumbent && std::any_of(at_top.begin(), at_top.end(),
                                          [&](const auto& p) { return p.first == *e.incumbent; })) {
      v.candidate = e.incumbent;
      v.reason = "sentinels split within " + epoch_text +
                 " without a majority: the current "
                 "master stays";
    } else {
      v.what = verdict::kind::split;
      v.reason = "sentinels split within " + epoch_text + " and no address has a majority of " +
                 std::to_string(e.known);
      return v;
    }
  }
  v.votes = count(*v.candidate);
  v.epoch = top;
  v.majority = v.votes >= majority;

  auto it = e.roles.find(*v.candidate);
  auto role = it == e.roles.end() ? role_seen::unknown : it->second;
  switch (role) {
    case role_seen::master:
      v.what = verdict::kind::elected;
      v.master = v.candidate;
      break;
    case role_seen::unknown:
      v.what = verdict::kind::unconfirmed;
      v.reason += "; its ROLE is not known";
      break;
    case role_seen::not_master:
      v.what = verdict::kind::not_master;
      v.reason += ", but it does not say ROLE master";
      break;
    case role_seen::busy:
      v.what = verdict::kind::busy;
      v.reason += "; it is busy (BUSY or LOADING)";
      break;
  }
  return v;
}

}  // namespace rsm::sentinel
