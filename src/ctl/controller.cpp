#include "rsm/ctl/controller.hpp"

#include "rsm/json.hpp"
#include "rsm/lainlet/http_client.hpp"
#include "rsm/log.hpp"
#include "rsm/net/gather.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/observer.hpp"
#include "rsm/observe/report.hpp"
#include "rsm/sentinel/follower.hpp"

#include <cstdio>
#include <random>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace rsm::ctl {

struct controller::state {
  state(asio::any_io_executor e, settings s, std::unique_ptr<discovery::source> src)
      : ex(e),
        cfg(std::move(s)),
        source(std::move(src)),
        trigger(e, asio::steady_timer::time_point::max()) {}

  asio::any_io_executor ex;
  settings cfg;
  std::unique_ptr<discovery::source> source;
  std::optional<topology::group> group;
  memory mem;
  std::optional<pass_report> last;
  std::optional<observe::group_state> last_state;
  std::deque<outcome> recent;  // the last actions, newest last (bounded)
  std::uint64_t passes = 0;
  std::map<std::string, std::uint64_t> actions_by_kind;
  std::map<std::string, std::uint64_t> failed_by_kind;
  std::uint64_t failovers_seen = 0;
  std::string pending_trigger;
  asio::steady_timer trigger;
  std::optional<std::chrono::steady_clock::time_point> paused_until;
  bool paused_forever = false;
  /// The operator's choice for rule b (POST /choose-master).
  std::optional<address> chosen_master;
  /// Whether this controller acts (ctl/leadership.hpp); nothing until the first pass decides.
  std::optional<leadership> lead;
  /// The marker id this controller gives a group whose master carries none (rule j).
  std::string new_group_id = random_group_id();

  static std::string random_group_id() {
    std::random_device rd;
    std::string id;
    for (int i = 0; i < 4; ++i) {
      char buf[9];
      std::snprintf(buf, sizeof buf, "%08x", rd());
      id += buf;
    }
    return id;
  }
  sentinel::follower_set followers{ex};

  bool is_paused() const {
    if (paused_forever) return true;
    return paused_until && std::chrono::steady_clock::now() < *paused_until;
  }
  void poke(std::string why) {
    if (pending_trigger.empty()) pending_trigger = std::move(why);
    trigger.cancel();
  }
};

controller::controller(asio::any_io_executor ex, settings s, std::unique_ptr<discovery::source> src)
    : state_(std::make_shared<state>(ex, std::move(s), std::move(src))) {}

controller::~controller() {
  state_->followers.stop_all();
}

void controller::stop() {
  state_->followers.stop_all();
}

awaitable<bool> controller::async_discover(duration timeout) {
  auto st = state_;
  auto u = co_await net::with_timeout(st->source->async_next(), timeout);
  if (!u) co_return false;
  for (const auto& c : u->changes) log::info("ctl", "discovery: " + c.describe());
  st->group = u->group;
  co_return true;
}

void controller::pause(std::optional<duration> d) {
  if (d) {
    state_->paused_until = std::chrono::steady_clock::now() + *d;
    state_->paused_forever = false;
  } else {
    state_->paused_forever = true;
  }
  log::warn("ctl", "paused", {{"for", d ? rsm::to_string(*d) : std::string("until resumed")}});
}

void controller::resume() {
  state_->paused_forever = false;
  state_->paused_until.reset();
  log::info("ctl", "resumed");
  state_->poke("resume");
}

bool controller::paused() const {
  return state_->is_paused();
}

void controller::choose_master(const address& a) {
  state_->chosen_master = a;
  log::warn("ctl", "the operator chose the master for a fresh group", {{"master", a.to_string()}});
  state_->poke("choose-master");
}

const std::optional<pass_report>& controller::last_pass() const {
  return state_->last;
}
const std::optional<observe::group_state>& controller::last_state() const {
  return state_->last_state;
}

namespace {

// A peer's /status: answered (200), and whether it says it is the active controller.
awaitable<std::pair<int, peer_answer>> ask_peer(peer p, duration timeout) {
  peer_answer a;
  auto r = co_await lainlet::async_get(p.addr, "/status", timeout);
  if (r && r->status == 200) {
    a.answered = true;
    rapidjson::Document d;
    if (!rsm::json::parse(d, r->body) && d.IsObject() && d.HasMember("role") &&
        d["role"].IsString()) {
      a.active = std::string_view(d["role"].GetString()) == "active";
    }
  }
  co_return std::pair(p.instance, a);
}

awaitable<leadership> decide_now(const controller::state& st) {
  static const std::map<int, address> none;
  auto peers = peers_of(st.cfg.instance, st.group ? st.group->controllers : none, st.cfg.peers);
  std::vector<awaitable<std::pair<int, peer_answer>>> asks;
  for (const auto& p : peers) asks.push_back(ask_peer(p, st.cfg.timeout));
  auto got = co_await net::async_gather(std::move(asks));
  std::map<int, peer_answer> answers;
  for (auto& g : got)
    if (g) answers.insert(*g);
  co_return decide_leadership(st.cfg.instance, peers, answers);
}

}  // namespace

awaitable<pass_report> controller::async_pass(std::string trigger) {
  auto st = state_;
  pass_report rep;
  rep.number = ++st->passes;
  rep.at = std::chrono::system_clock::now();
  rep.trigger = std::move(trigger);
  rep.paused = st->is_paused();
  auto lead = co_await decide_now(*st);
  if (!st->lead || st->lead->active != lead.active || st->lead->leader != lead.leader) {
    if (lead.active) {
      log::info("ctl", "acting", {{"why", lead.reason}});
    } else {
      log::warn("ctl", "standing by: another controller acts", {{"why", lead.reason}});
    }
  }
  st->lead = lead;
  rep.standby = !lead.active;

  plan_input in;
  in.discovery_ok = st->group.has_value();
  if (st->group) in.discovered = *st->group;
  in.chosen_master = st->chosen_master;
  in.new_group_id = st->new_group_id;
  observe::settings os;
  os.master_name = st->cfg.cfg.master_name;
  os.redis = st->cfg.redis;
  os.sentinel = st->cfg.sentinel;
  os.timeout = st->cfg.timeout;
  if (st->cfg.cfg.min_replicas_to_write > 0) os.config_keys = {"min-replicas-*"};
  if (st->group) in.observed = co_await observe::async_observe(*st->group, os);
  in.observed.master_name = st->cfg.cfg.master_name;
  // The sentinels' candidate, whatever discovery says: a registry that merely omits a healthy
  // master must not lead to a second one (rule h).
  auto named = sentinel::elect(observe::election_of(in.observed)).candidate;
  if (named && in.observed.node_at(*named) == nullptr)
    in.named_undiscovered = co_await observe::async_observe_node(*named, os);
  in.now = std::chrono::steady_clock::now();
  rep.plan = plan(in, st->cfg.cfg, st->mem);
  rep.assessment = observe::assess(in.observed, {});

  for (const auto& n : rep.plan.notes)
    log::info("ctl", n, {{"rule", rep.plan.rule}, {"iteration", rep.number}});
  std::vector<action> done;
  if (st->cfg.dry_run || rep.paused || rep.standby) {
    const std::string why = st->cfg.dry_run ? "dry run" : rep.paused ? "paused" : "standby";
    for (const auto& a : rep.plan.actions) {
      // A standby plans every pass what the active one does: at debug, not to double the log.
      (rep.standby && !st->cfg.dry_run ? log::debug : log::info)(
          "ctl", why + ", would " + a.describe(), {{"rule", rep.plan.rule}, {"reason", a.reason}});
      outcome o;
      o.act = a;
      o.result = outcome::status::skipped;
      o.detail = why;
      o.at = std::chrono::system_clock::now();
      rep.outcomes.push_back(std::move(o));
    }
  } else {
    act_settings as{
        st->cfg.cfg,    st->cfg.redis, st->cfg.sentinel, st->cfg.timeout, std::chrono::seconds(20),
        st->cfg.monitor};
    for (const auto& a : rep.plan.actions) {
      auto o = co_await async_act(a, as);
      auto kind = std::string(to_string(a.what));
      if (o.result == outcome::status::done) {
        ++st->actions_by_kind[kind];
        done.push_back(a);
      } else if (o.result == outcome::status::failed) {
        ++st->failed_by_kind[kind];
        done.push_back(a);  // a failed attempt also counts for anti-flap
      }
      bool failed = o.result == outcome::status::failed;
      st->recent.push_back(o);
      if (st->recent.size() > 50) st->recent.pop_front();
      rep.outcomes.push_back(std::move(o));
      if (failed) {
        // What follows was planned on a picture that action was to change: the next pass
        // observes again and plans from what is.
        log::warn(
            "ctl", "an action failed: the rest of this pass is dropped, the next observes again",
            {{"action", a.describe()}, {"dropped", rep.plan.actions.size() - rep.outcomes.size()}});
        break;
      }
    }
  }
  remember(st->mem, in, rep.plan, done);
  st->last_state = std::move(in.observed);
  st->last = rep;
  if (st->cfg.on_pass) st->cfg.on_pass(rep);
  co_return rep;
}

namespace {

void reconcile_followers(const std::shared_ptr<controller::state>& st) {
  sentinel::follow_settings fs;
  fs.auth = st->cfg.sentinel;
  fs.connect_timeout = st->cfg.timeout;
  fs.channels = {"+switch-master", "+sdown", "-sdown", "+odown", "+failover-end", "+reset-master"};
  std::weak_ptr<controller::state> weak = st;
  st->followers.follow_sentinels(st->group, fs,
                                 [weak](const address& where, const sentinel::event& ev) {
                                   auto st = weak.lock();
                                   if (!st || ev.master_name != st->cfg.cfg.master_name) return;
                                   if (ev.type == "+switch-master") ++st->failovers_seen;
                                   st->poke("sentinel " + where.to_string() + " " + ev.type);
                                 });
}

awaitable<void> discovery_loop(std::shared_ptr<controller::state> st) {
  for (;;) {
    auto u = co_await st->source->async_next();
    if (!u) co_return;
    for (const auto& c : u->changes) log::info("ctl", "discovery: " + c.describe());
    st->group = u->group;
    reconcile_followers(st);
    st->poke("discovery");
  }
}

}  // namespace

awaitable<void> controller::async_run() {
  auto st = state_;
  using namespace asio::experimental::awaitable_operators;
  auto passes = [](controller* self, std::shared_ptr<state> st) -> awaitable<void> {
    for (;;) {
      if (st->group) {
        auto why = st->pending_trigger.empty() ? std::string("interval")
                                               : std::exchange(st->pending_trigger, {});
        // Kept in a variable: GCC 12 miscompiles a discarded co_await result of class type.
        auto report = co_await self->async_pass(why);
        (void)report;
      }
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
      if (!st->pending_trigger.empty()) {
        // Events that came during the pass: a short pause lets a burst settle.
        if (!co_await net::async_sleep(std::chrono::milliseconds(200))) co_return;
        continue;
      }
      st->trigger.expires_after(st->cfg.interval);
      co_await st->trigger.async_wait(use_nothrow);
      cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
  };
  co_await (discovery_loop(st) && passes(this, st));
  st->followers.stop_all();
}

std::string controller::status_json() const {
  const auto& st = *state_;
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) {
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("role");
  str(!st.lead ? "starting" : st.lead->active ? "active" : "standby");
  w.Key("leader");
  if (st.lead && st.lead->leader) {
    str(st.lead->leader->addr.to_string());
  } else {
    w.Null();
  }
  w.Key("leadership");
  str(st.lead ? st.lead->reason : std::string("no pass yet"));
  w.Key("paused");
  w.Bool(st.is_paused());
  w.Key("dry_run");
  w.Bool(st.cfg.dry_run);
  w.Key("master_name");
  str(st.cfg.cfg.master_name);
  w.Key("discovery");
  w.StartObject();
  w.Key("source");
  str(st.source->describe());
  auto h = st.source->status();
  w.Key("has_snapshot");
  w.Bool(h.has_snapshot);
  w.Key("error");
  str(h.last_error);
  w.EndObject();
  w.Key("topology");
  w.StartObject();
  for (const char* kind : {"redis", "sentinels"}) {
    w.Key(kind);
    w.StartObject();
    if (st.group) {
      const auto& m = std::string(kind) == "redis" ? st.group->redis : st.group->sentinels;
      for (const auto& [i, a] : m) {
        w.Key(std::to_string(i).c_str());
        str(a.to_string());
      }
    }
    w.EndObject();
  }
  w.EndObject();
  w.Key("passes");
  w.Uint64(st.passes);
  w.Key("agreed_master");
  if (st.last && st.last->plan.master) {
    str(st.last->plan.master->to_string());
  } else {
    w.Null();
  }
  w.Key("needs_operator");
  w.Bool(st.last && st.last->plan.needs_operator);
  w.Key("chosen_master");
  if (st.chosen_master) {
    str(st.chosen_master->to_string());
  } else {
    w.Null();
  }
  w.Key("last_plan");
  if (st.last) {
    w.StartObject();
    w.Key("pass");
    w.Uint64(st.last->number);
    w.Key("trigger");
    str(st.last->trigger);
    w.Key("rule");
    str(st.last->plan.rule);
    w.Key("notes");
    w.StartArray();
    for (const auto& n : st.last->plan.notes) str(n);
    w.EndArray();
    w.Key("foreign");
    w.StartArray();
    for (const auto& a : st.last->plan.foreign) str(a.to_string());
    w.EndArray();
    w.Key("actions");
    w.StartArray();
    for (const auto& a : st.last->plan.actions) {
      w.StartObject();
      w.Key("action");
      str(a.describe());
      w.Key("reason");
      str(a.reason);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("last_actions");
  w.StartArray();
  for (const auto& o : st.recent) {
    w.StartObject();
    w.Key("action");
    str(o.act.describe());
    w.Key("reason");
    str(o.act.reason);
    w.Key("result");
    str(std::string(to_string(o.result)));
    w.Key("detail");
    str(o.detail);
    w.Key("at");
    w.Int64(std::chrono::duration_cast<std::chrono::seconds>(o.at.time_since_epoch()).count());
    w.EndObject();
  }
  w.EndArray();
  w.Key("observed");
  if (st.last_state && st.last) {
    observe::report_context ctx;
    ctx.discovery = st.source->describe();
    ctx.discovery_error = h.last_error;
    auto doc = observe::to_json(*st.last_state, st.last->assessment, ctx);
    w.RawValue(doc.c_str(), doc.size() - 1, rapidjson::kObjectType);  // without its newline
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

void controller::add_metrics(metrics::exposition& e) const {
  const auto& st = *state_;
  e.counter("rsm_ctl_passes_total", "Controller passes", {}, double(st.passes));
  e.gauge("rsm_ctl_active",
          "1 while this controller acts, 0 while it stands by for another (ctl/leadership.hpp)", {},
          st.lead && !st.lead->active ? 0 : 1);
  e.gauge("rsm_ctl_needs_operator",
          "1 while the last pass found data in more than one replication history of a fresh "
          "group and chose no master (rsm ctl choose-master)",
          {}, st.last && st.last->plan.needs_operator ? 1 : 0);
  for (auto kind :
       {action::kind::replicaof, action::kind::promote, action::kind::sentinel_monitor,
        action::kind::sentinel_reset, action::kind::sentinel_failover, action::kind::config_set}) {
    auto k = std::string(to_string(kind));
    auto it = st.actions_by_kind.find(k);
    e.counter("rsm_ctl_actions_total", "Actions carried out, by kind", {{"kind", k}},
              it == st.actions_by_kind.end() ? 0 : double(it->second));
    auto f = st.failed_by_kind.find(k);
    e.counter("rsm_ctl_action_failures_total", "Actions that failed, by kind", {{"kind", k}},
              f == st.failed_by_kind.end() ? 0 : double(f->second));
  }
  e.counter("rsm_ctl_failovers_seen_total", "+switch-master events seen", {},
            double(st.failovers_seen));
  e.gauge("rsm_ctl_paused", "1 while the controller is paused", {}, st.is_paused() ? 1 : 0);
  if (st.last_state && st.last) observe::add_metrics(e, *st.last_state, st.last->assessment);
}

}  // namespace rsm::ctl
