#include "rsm/ctl/act.hpp"

#include "rsm/log.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"
#include "rsm/sentinel/commands.hpp"

namespace rsm::ctl {

std::string_view to_string(outcome::status s) {
  switch (s) {
    case outcome::status::done:
      return "done";
    case outcome::status::skipped:
      return "skipped";
    case outcome::status::failed:
      return "failed";
  }
  return "?";
}

namespace {

struct step {
  outcome::status status;
  std::string detail;
};

step failed(const error& e) {
  return {outcome::status::failed, e.message()};
}

awaitable<step> check_master(address master, act_settings s) {
  auto c = co_await redis::connection::async_connect(
      redis::short_options(master, s.redis, s.timeout, "rsm-ctl"));
  if (!c)
    co_return step{outcome::status::skipped, "precondition: master " + master.to_string() +
                                                 " unreachable: " + c.error().message()};
  auto role = co_await redis::async_role(*c);
  if (!role)
    co_return step{outcome::status::skipped,
                   "precondition: master ROLE: " + role.error().message()};
  if (!role->is_master())
    co_return step{outcome::status::skipped,
                   "precondition: " + master.to_string() + " is no longer master"};
  co_return step{outcome::status::done, ""};
}

awaitable<step> do_replicaof(action a, act_settings s) {
  auto pre = co_await check_master(a.master, s);
  if (pre.status != outcome::status::done) co_return pre;
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.redis, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  auto role = co_await redis::async_role(*c);
  if (!role) co_return failed(role.error());
  if (role->is_replica() && role->master == a.master) {
    co_return step{outcome::status::skipped, "already a replica of " + a.master.to_string()};
  }
  auto r = co_await redis::async_replicaof(*c, a.master);
  if (!r) co_return failed(r.error());
  co_return step{outcome::status::done, "OK"};
}

awaitable<step> do_promote(action a, act_settings s) {
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.redis, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  auto role = co_await redis::async_role(*c);
  if (!role) co_return failed(role.error());
  if (role->is_master()) co_return step{outcome::status::skipped, "already master"};
  auto r = co_await redis::async_replicaof(*c, std::nullopt);
  if (!r) co_return failed(r.error());
  co_return step{outcome::status::done, "OK"};
}

awaitable<step> do_monitor(action a, act_settings s) {
  // The master is asked right before: since the pass observed it, it may have been demoted (a
  // failover, another controller), and a sentinel told to monitor a replica would fight
  // the others.
  auto pre = co_await check_master(a.master, s);
  if (pre.status != outcome::status::done) co_return pre;
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.sentinel, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  const auto& name = s.cfg.master_name;
  auto now = co_await sentinel::async_get_master_addr(*c, name);
  if (!now) co_return failed(now.error());
  if (*now && **now == a.master) {
    co_return step{outcome::status::skipped, "already monitors " + a.master.to_string()};
  }
  if (*now) {
    auto removed = co_await sentinel::async_remove(*c, name);
    if (!removed) co_return failed(removed.error());
  }
  auto m = co_await sentinel::async_monitor(*c, name, a.master, a.quorum);
  if (!m) co_return failed(m.error());
  std::vector<std::pair<std::string, std::string>> settings;
  settings.emplace_back("down-after-milliseconds", std::to_string(s.cfg.down_after.count()));
  settings.emplace_back("parallel-syncs", std::to_string(s.cfg.parallel_syncs));
  settings.emplace_back("failover-timeout", std::to_string(s.cfg.failover_timeout.count()));
  const auto& as = s.monitor.password.empty() ? s.redis : s.monitor;
  if (!as.password.empty()) {
    if (!as.username.empty()) settings.emplace_back("auth-user", as.username);
    settings.emplace_back("auth-pass", as.password);
  }
  auto set = co_await sentinel::async_set(*c, name, std::move(settings));
  if (!set) co_return failed(set.error());
  co_return step{outcome::status::done, "OK"};
}

awaitable<step> do_reset(action a, act_settings s) {
  // Never while the master is down or a failover runs.
  auto pre = co_await check_master(a.master, s);
  if (pre.status != outcome::status::done) co_return pre;
  auto mc = co_await redis::connection::async_connect(
      redis::short_options(a.master, s.redis, s.timeout, "rsm-ctl"));
  if (!mc) co_return failed(mc.error());
  auto mrole = co_await redis::async_role(*mc);
  if (!mrole) co_return failed(mrole.error());
  auto expected = mrole->replicas.size();

  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.sentinel, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  const auto& name = s.cfg.master_name;
  auto mf = co_await sentinel::async_master(*c, name);
  if (!mf) co_return failed(mf.error());
  auto view = sentinel::to_master_view(*mf);
  if (!view) co_return failed(view.error());
  if (view->has_flag("failover_in_progress") || view->has_flag("o_down") ||
      view->has_flag("s_down")) {
    co_return step{outcome::status::skipped,
                   "precondition: sentinel sees a failover or a down master"};
  }
  auto n = co_await sentinel::async_reset(*c, name);
  if (!n) co_return failed(n.error());
  // Wait (bounded) until the sentinel has re-learned the master's replicas.
  auto until = std::chrono::steady_clock::now() + s.reset_wait;
  std::size_t learned = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto reps = co_await sentinel::async_replicas(*c, name);
    if (reps) {
      learned = 0;
      for (const auto& r : *reps) {
        auto flags = r.find("flags");
        if (flags != r.end() && flags->second == "slave") ++learned;
      }
      if (learned >= expected)
        co_return step{outcome::status::done,
                       "OK, re-learned " + std::to_string(learned) + " replicas"};
    }
    if (!co_await net::async_sleep(std::chrono::milliseconds(250))) break;
  }
  co_return step{outcome::status::done, "reset; re-learned only " + std::to_string(learned) +
                                            " of " + std::to_string(expected) +
                                            " replicas within " + rsm::to_string(s.reset_wait)};
}

awaitable<step> do_failover(action a, act_settings s) {
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.sentinel, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  auto f = co_await sentinel::async_failover(*c, s.cfg.master_name);
  if (!f) co_return failed(f.error());
  co_return step{outcome::status::done, "OK"};
}

awaitable<step> do_config_set(action a, act_settings s) {
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.redis, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  auto r = co_await redis::async_config_set(*c, a.key, a.value);
  if (!r) co_return failed(r.error());
  co_return step{outcome::status::done, "OK"};
}

awaitable<step> do_mark_group(action a, act_settings s) {
  auto pre = co_await check_master(a.master, s);
  if (pre.status != outcome::status::done) co_return pre;
  auto c = co_await redis::connection::async_connect(
      redis::short_options(a.target, s.redis, s.timeout, "rsm-ctl"));
  if (!c) co_return failed(c.error());
  auto listed = co_await c->async_exec(
      resp::command{"FUNCTION", "LIST", "LIBRARYNAME", observe::group_marker_library("*")});
  if (!listed) co_return failed(listed.error());
  if (auto id = observe::group_marker_in(*listed); !id.empty())
    co_return step{outcome::status::skipped, "already marked " + id};
  auto r = co_await c->async_exec(
      resp::command{"FUNCTION", "LOAD", observe::group_marker_code(a.value)});
  if (!r) co_return failed(r.error());
  if (r->is_error()) co_return step{outcome::status::failed, r->str};
  co_return step{outcome::status::done, "OK"};
}

awaitable<result<step>> dispatch(action a, act_settings s) {
  switch (a.what) {
    case action::kind::replicaof:
      co_return co_await do_replicaof(a, s);
    case action::kind::promote:
      co_return co_await do_promote(a, s);
    case action::kind::sentinel_monitor:
      co_return co_await do_monitor(a, s);
    case action::kind::sentinel_reset:
      co_return co_await do_reset(a, s);
    case action::kind::sentinel_failover:
      co_return co_await do_failover(a, s);
    case action::kind::config_set:
      co_return co_await do_config_set(a, s);
    case action::kind::mark_group:
      co_return co_await do_mark_group(a, s);
  }
  co_return step{outcome::status::failed, "unknown action"};
}

}  // namespace

awaitable<outcome> async_act(action a, act_settings s) {
  // Each action gets its own bound: a hung node must not hold the controller.
  auto limit =
      s.timeout * 4 + (a.what == action::kind::sentinel_reset ? s.reset_wait : duration{0});
  auto r = co_await net::with_timeout(dispatch(a, s), limit);
  outcome o;
  o.act = a;
  o.at = std::chrono::system_clock::now();
  if (!r) {
    o.result = outcome::status::failed;
    o.detail = r.error().message();
  } else {
    o.result = r->status;
    o.detail = r->detail;
  }
  auto lvl = o.result == outcome::status::failed ? log::level::warn : log::level::info;
  if (log::enabled(lvl)) {
    log::write(lvl, "ctl", std::string(to_string(o.result)) + ": " + a.describe(),
               {{"reason", a.reason}, {"result", o.detail}});
  }
  co_return o;
}

}  // namespace rsm::ctl
