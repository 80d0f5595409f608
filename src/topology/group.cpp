#include "rsm/topology/group.hpp"

namespace rsm::topology {
namespace {

void diff_map(role who, const std::map<int, address>& a, const std::map<int, address>& b,
              std::vector<change>& out) {
  for (const auto& [inst, addr] : a) {
    auto it = b.find(inst);
    if (it == b.end()) {
      out.push_back({change::kind::removed, who, inst, addr, std::nullopt});
    } else if (it->second != addr) {
      out.push_back({change::kind::moved, who, inst, addr, it->second});
    }
  }
  for (const auto& [inst, addr] : b) {
    if (!a.count(inst)) out.push_back({change::kind::added, who, inst, std::nullopt, addr});
  }
}

void describe_map(std::string& out, const std::map<int, address>& m) {
  for (const auto& [inst, addr] : m) out += " " + std::to_string(inst) + "=" + addr.to_string();
}

}  // namespace

std::string_view to_string(role r) {
  return r == role::redis ? "redis" : "sentinel";
}

std::string_view to_string(change::kind k) {
  switch (k) {
    case change::kind::added:
      return "added";
    case change::kind::removed:
      return "removed";
    case change::kind::moved:
      return "moved";
  }
  return "?";
}

std::string group::describe() const {
  std::string out = "redis";
  describe_map(out, redis);
  out += " sentinels";
  describe_map(out, sentinels);
  if (!controllers.empty()) {
    out += " controllers";
    describe_map(out, controllers);
  }
  return out;
}

std::string change::describe() const {
  std::string out = std::string(to_string(who)) + " " + std::to_string(instance) + " " +
                    std::string(to_string(what));
  if (before) out += " " + before->to_string();
  if (before && after) out += " ->";
  if (after) out += " " + after->to_string();
  return out;
}

group from_procs(const std::vector<lainlet::proc>& procs, std::string_view redis_proc,
                 std::string_view sentinel_proc, std::string_view ctl_proc) {
  group g;
  for (const auto& p : procs) {
    if (p.ip.empty() || p.port <= 0 || p.port > 65535) continue;
    address a{p.ip, static_cast<std::uint16_t>(p.port)};
    if (p.name == redis_proc) {
      g.redis[p.instance] = std::move(a);
    } else if (p.name == sentinel_proc) {
      g.sentinels[p.instance] = std::move(a);
    } else if (p.name == ctl_proc) {
      g.controllers[p.instance] = std::move(a);
    }
  }
  return g;
}

group from_lists(const std::vector<address>& redis, const std::vector<address>& sentinels) {
  group g;
  for (std::size_t i = 0; i < redis.size(); ++i) g.redis[static_cast<int>(i) + 1] = redis[i];
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    g.sentinels[static_cast<int>(i) + 1] = sentinels[i];
  }
  return g;
}

std::vector<change> diff(const group& before, const group& after) {
  std::vector<change> out;
  diff_map(role::redis, before.redis, after.redis, out);
  diff_map(role::sentinel, before.sentinels, after.sentinels, out);
  return out;
}

std::optional<std::string> implausible(const group& before, const group& after) {
  auto emptied = [](const auto& b, const auto& a) { return !b.empty() && a.empty(); };
  std::string what;
  if (emptied(before.redis, after.redis))
    what = "every redis node (" + std::to_string(before.redis.size()) + ")";
  if (emptied(before.sentinels, after.sentinels))
    what += (what.empty() ? "every sentinel (" : " and every sentinel (") +
            std::to_string(before.sentinels.size()) + ")";
  if (what.empty()) return std::nullopt;
  return "a snapshot removing " + what + " at once is not applied";
}

}  // namespace rsm::topology
