#include "rsm/observe/changes.hpp"

#include <map>

namespace rsm::observe {

std::string change_event::field(std::string_view k) const {
  for (const auto& [key, v] : fields) {
    if (key == k) return v;
  }
  return {};
}

namespace {

std::string role_of(const node_state& n) {
  return n.reachable ? std::string(redis::to_string(n.role.type)) : "unreachable";
}

const replica_lag* lag_of(const assessment& a, int instance) {
  for (const auto& l : a.lags) {
    if (l.instance == instance) return &l;
  }
  return nullptr;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

std::vector<change_event> compare(const group_state& before, const assessment& before_a,
                                  const group_state& after, const assessment& after_a,
                                  const assess_settings& s) {
  std::vector<change_event> out;
  auto max_lag = std::chrono::duration_cast<std::chrono::seconds>(s.max_lag).count();
  for (const auto& n : after.nodes) {
    const node_state* old = before.node(n.instance);
    std::vector<std::pair<std::string, std::string>> id = {{"instance", std::to_string(n.instance)},
                                                           {"addr", n.addr.to_string()}};
    auto with = [&](std::vector<std::pair<std::string, std::string>> more) {
      auto f = id;
      for (auto& m : more) f.push_back(std::move(m));
      return f;
    };
    bool was_up = old && old->reachable;
    if (n.reachable != was_up) {
      if (n.reachable) {
        out.push_back({"node-up", with({{"role", role_of(n)}})});
      } else if (old) {
        out.push_back({"node-down", with({{"error", n.error}})});
      }
    }
    if (!n.reachable || !was_up) continue;
    if (n.role.type != old->role.type) {
      out.push_back({"role-changed", with({{"from", role_of(*old)}, {"to", role_of(n)}})});
    }
    if (n.role.is_replica()) {
      bool up = n.link_status == "up";
      bool old_up = old->role.is_replica() && old->link_status == "up";
      if (up != old_up) {
        out.push_back(
            {up ? "link-up" : "link-down", with({{"master", n.role.master.to_string()}})});
      }
      const auto* lag = lag_of(after_a, n.instance);
      const auto* old_lag = lag_of(before_a, n.instance);
      bool high = up && lag && lag->seconds > max_lag;
      bool old_high = old_up && old_lag && old_lag->seconds > max_lag;
      if (high != old_high) {
        out.push_back({high ? "lag-high" : "lag-ok",
                       with({{"seconds", std::to_string(lag ? lag->seconds : 0)},
                             {"bytes", std::to_string(lag ? lag->bytes : 0)}})});
      }
    }
  }
  for (const auto& st : after.sentinels) {
    const sentinel_state* old = nullptr;
    for (const auto& o : before.sentinels) {
      if (o.instance == st.instance) old = &o;
    }
    bool was_up = old && old->reachable;
    if (st.reachable != was_up && (old || st.reachable)) {
      std::vector<std::pair<std::string, std::string>> f = {
          {"instance", std::to_string(st.instance)}, {"addr", st.addr.to_string()}};
      if (!st.reachable) f.push_back({"error", st.error});
      out.push_back({st.reachable ? "sentinel-up" : "sentinel-down", std::move(f)});
    }
  }
  if (before_a.level != after_a.level ||
      (after_a.level != health::healthy && before_a.reasons != after_a.reasons)) {
    out.push_back({"health",
                   {{"from", std::string(to_string(before_a.level))},
                    {"to", std::string(to_string(after_a.level))},
                    {"reasons", joined(after_a.reasons)}}});
  }
  return out;
}

std::vector<change_event> from_discovery(const std::vector<topology::change>& changes) {
  std::vector<change_event> out;
  for (const auto& c : changes) {
    change_event e;
    e.kind = "instance-" + std::string(topology::to_string(c.what));
    e.fields = {{"role", std::string(topology::to_string(c.who))},
                {"instance", std::to_string(c.instance)}};
    if (c.before) e.fields.push_back({c.after ? "from" : "addr", c.before->to_string()});
    if (c.after) e.fields.push_back({c.before ? "to" : "addr", c.after->to_string()});
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<change_event> from_sentinel(const sentinel::event& e, std::string_view master_name,
                                          const address& from) {
  static const std::map<std::string, std::string, std::less<>> names = {
      {"+sdown", "sdown"},
      {"-sdown", "sdown-cleared"},
      {"+odown", "odown"},
      {"-odown", "odown-cleared"},
      {"+failover-end", "failover-end"},
      {"+try-failover", "try-failover"},
      {"+reset-master", "reset-master"},
      {"+elected-leader", "elected-leader"}};
  auto it = names.find(e.type);
  if (it == names.end() || e.master_name != master_name) return std::nullopt;
  change_event out{it->second, {{"sentinel", from.to_string()}}};
  if (!e.instance_type.empty()) out.fields.push_back({"type", e.instance_type});
  if (e.instance_addr) out.fields.push_back({"addr", e.instance_addr->to_string()});
  return out;
}

}  // namespace rsm::observe
