#include "rsm/proxy/master_tracker.hpp"

#include "rsm/proxy/fence.hpp"

#include "rsm/log.hpp"
#include "rsm/net/gather.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/redis/commands.hpp"
#include "rsm/redis/role.hpp"
#include "rsm/resp/command.hpp"
#include "rsm/sentinel/commands.hpp"
#include "rsm/sentinel/election.hpp"
#include "rsm/sentinel/follower.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

#include <map>
#include <mutex>

namespace rsm::proxy {

struct master_tracker::state {
  state(asio::any_io_executor e, tracker_settings s, std::unique_ptr<discovery::source> src)
      : ex(e),
        cfg(std::move(s)),
        source(std::move(src)),
        poke(e, asio::steady_timer::time_point::max()),
        urgent(e, asio::steady_timer::time_point::max()),
        followers(e),
        fence(cfg.fence_after, std::chrono::steady_clock::now()) {}
  asio::any_io_executor ex;
  tracker_settings cfg;
  std::unique_ptr<discovery::source> source;
  std::optional<topology::group> group;
  // The verified master, read by the data threads when they open a backend connection. A
  // mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12 builds that one on a fence
  // ThreadSanitizer cannot see, and the lock is taken only on connects and on a switch.
  mutable std::mutex current_mutex;
  std::shared_ptr<const master_info> current_ptr;
  std::shared_ptr<const master_info> current() const {
    std::lock_guard lock(current_mutex);
    return current_ptr;
  }
  void set_current(std::shared_ptr<const master_info> m) {
    std::lock_guard lock(current_mutex);
    current_ptr = std::move(m);
  }
  std::uint64_t generation = 0;
  asio::steady_timer poke;
  /// Cancelled by a sentinel event: it interrupts a resolution in flight (which may be waiting
  /// out a timeout on a SIGSTOPped master) so that the news is acted on at once.
  asio::steady_timer urgent;
  std::string pending_reason;
  sentinel::follower_set followers;
  std::vector<std::function<void(std::shared_ptr<const master_info>)>> listeners;
  std::string last_problem;
  /// A failover under way from this master (a sentinel selected a replica to promote): it is
  /// not served again until `paused_until`, unless the sentinels still name it then.
  std::optional<address> paused_master;
  std::chrono::steady_clock::time_point paused_until{};
  /// Self-fencing (fence.hpp): when a majority of the sentinels last answered; the flag the
  /// data threads read.
  fence_clock fence;
  std::atomic<bool> fenced{false};
  /// A majority answers again: writes resume after the next resolution it answers.
  bool unfence_pending = false;
  /// The last resolution: sentinels known, and how many answered.
  std::atomic<int> sentinels_known{0};
  std::atomic<int> sentinels_answering{0};
  /// When a backend error last asked for a resolution (steady_clock ticks): at most one per
  /// k_suspect_interval, however many clients get READONLY at once.
  std::atomic<std::int64_t> last_suspect{0};

  void trigger(std::string why, bool interrupt = false) {
    if (pending_reason.empty() || interrupt) pending_reason = std::move(why);
    poke.cancel();
    if (interrupt) urgent.cancel();
  }
};

namespace {

struct vote {
  std::optional<address> addr;
  long long epoch = 0;
};

awaitable<result<vote>> ask_unbounded(address sentinel, tracker_settings cfg) {
  auto c = co_await redis::connection::async_connect(
      redis::short_options(sentinel, cfg.sentinel, cfg.timeout, "rsm-proxy-tracker"));
  if (!c) co_return c.error();
  auto a = co_await sentinel::async_get_master_addr(*c, cfg.master_name);
  if (!a) co_return a.error();
  vote v;
  v.addr = *a;
  auto m = co_await sentinel::async_master(*c, cfg.master_name);
  if (m) {
    if (auto view = sentinel::to_master_view(*m)) v.epoch = view->config_epoch;
  }
  co_return v;
}

awaitable<std::optional<vote>> ask(address sentinel, tracker_settings cfg) {
  auto r = co_await net::with_timeout(ask_unbounded(sentinel, cfg), cfg.timeout * 2);
  if (!r) co_return std::nullopt;
  co_return *r;
}

enum class role_answer { master, not_master, busy };

// ROLE at `a`. A master running a long script answers -BUSY, and one loading its data -LOADING:
// busy, not lost (the caller keeps a verified master at that address).
awaitable<role_answer> says_master(address a, tracker_settings cfg) {
  auto check = [](address a, tracker_settings cfg) -> awaitable<result<role_answer>> {
    auto c = co_await redis::connection::async_connect(
        // No CLIENT SETNAME: a busy master answers it -BUSY too, and the handshake would fail
        // before ROLE could say "busy" (AUTH is allowed while busy).
        redis::short_options(a, cfg.redis, cfg.timeout, ""));
    if (!c) co_return c.error();
    auto r = co_await c->async_exec(resp::command{"ROLE"});
    if (!r) co_return r.error();
    if (r->is_error() && (r->str.starts_with("BUSY") || r->str.starts_with("LOADING"))) {
      co_return role_answer::busy;
    }
    auto role = redis::parse_role(*r);
    if (!role) co_return role.error();
    co_return role->is_master() ? role_answer::master : role_answer::not_master;
  };
  auto r = co_await net::with_timeout(check(a, cfg), cfg.timeout * 2);
  co_return r ? *r : role_answer::not_master;
}

// Sentinels may name a host; rsm compares resolved IPs.
awaitable<address> resolved(address a) {
  error_code ec;
  asio::ip::make_address(a.host, ec);
  if (!ec) co_return a;  // already an IP
  tcp::resolver resolver(co_await asio::this_coro::executor);
  std::string host = a.host;
  std::string port = std::to_string(a.port);
  auto [rec, eps] = co_await resolver.async_resolve(host, port, use_nothrow);
  if (rec || eps.empty()) co_return a;
  co_return address{eps.begin()->endpoint().address().to_string(), a.port};
}

void publish(const std::shared_ptr<master_tracker::state>& st, std::optional<address> m,
             const std::string& reason) {
  auto cur = st->current();
  if (m && cur && cur->addr == *m) return;
  if (!m && !cur) return;
  std::shared_ptr<const master_info> next;
  if (m)
    next = std::make_shared<const master_info>(
        master_info{*m, ++st->generation, std::chrono::steady_clock::now()});
  st->set_current(next);
  log::warn("proxy", "master switch",
            {{"old", cur ? cur->addr.to_string() : std::string("none")},
             {"new", m ? m->to_string() : std::string("none")},
             {"reason", reason}});
  for (auto& l : st->listeners) l(next);
}

// --fence-after: a proxy cut from the sentinels' majority cannot learn of a failover, so what
// the old master acknowledges from then on may be lost; fence_after after a majority last
// answered it stops taking writes. When a majority answers again, writes wait for a
// resolution by that majority (triggered at once): the master may have changed meanwhile, and
// the old one, still master until Sentinel demotes it, can briefly accept writes again when
// the partition heals (its replicas' REPLCONF ACKs queued during the cut arrive and satisfy
// min-replicas-to-write) — the partition suite lost such a write before this rule.
void apply_fence(master_tracker::state& st, fence_clock::change c) {
  if (c == fence_clock::change::fenced) {
    st.unfence_pending = false;
    st.fenced.store(true);
    log::error("proxy", "fenced: no majority of the sentinels answers; writes refused",
               {{"for", to_string(st.cfg.fence_after)}});
  } else if (c == fence_clock::change::unfenced && st.fenced.load()) {
    st.unfence_pending = true;
    log::info("proxy", "a majority of the sentinels answers again: re-verifying the master");
    st.trigger("a majority of the sentinels answers again", true);
  }
}

// The end of a resolution a majority answered, with the master it verified published.
void confirm_unfence(master_tracker::state& st) {
  if (!st.unfence_pending) return;
  st.unfence_pending = false;
  st.fenced.store(false);
  log::warn("proxy", "the master is verified by a majority of the sentinels: writes accepted");
}

// The fence's heartbeat (fence.hpp): a PING to every sentinel each period, on a connection
// kept open, with the period as its timeout; the master resolution's own rounds (every
// --check-interval, waiting out a dead sentinel's timeout) are too slow for a short fence.
using fence_links = std::map<std::string, std::optional<redis::connection>>;

// One PING on the sentinel's kept connection (opened first if need be), within `period`.
awaitable<bool> fence_ping(std::shared_ptr<master_tracker::state> st,
                           std::shared_ptr<fence_links> links, address a,
                           std::chrono::steady_clock::time_point sent,
                           std::chrono::steady_clock::duration period) {
  const std::string key = a.to_string();
  auto once = [](std::shared_ptr<master_tracker::state> st, std::shared_ptr<fence_links> links,
                 address a) -> awaitable<result<bool>> {
    auto& slot = (*links)[a.to_string()];
    if (!slot) {
      auto c = co_await redis::connection::async_connect(
          redis::short_options(a, st->cfg.sentinel, st->cfg.timeout, "rsm-proxy-fence"));
      if (!c) co_return c.error();
      slot.emplace(std::move(*c));
    }
    auto r = co_await slot->async_exec(resp::command{"PING"});
    if (!r) co_return r.error();
    co_return !r->is_error();
  };
  auto r =
      co_await net::with_timeout(once(st, links, a), std::chrono::duration_cast<duration>(period));
  if (r && *r) {
    st->fence.heard(key, sent);
    co_return true;
  }
  (*links)[key].reset();  // timed out or failed: a fresh connection next time
  co_return false;
}

// The fence's heartbeat (fence.hpp): a PING to every sentinel each period, on a connection
// kept open, with the period as its timeout; the master resolution's own rounds (every
// --check-interval, waiting out a dead sentinel's timeout) are too slow for a short fence.
awaitable<void> heartbeat(std::shared_ptr<master_tracker::state> st) {
  if (!st->fence.enabled()) co_return;
  auto links = std::make_shared<fence_links>();
  asio::steady_timer t(st->ex);
  const auto period = st->fence.period();
  for (;;) {
    const auto sent = std::chrono::steady_clock::now();
    std::vector<std::string> known;
    if (st->group) {
      std::vector<awaitable<bool>> pings;
      for (const auto& [i, a] : st->group->sentinels) {
        known.push_back(a.to_string());
        pings.push_back(fence_ping(st, links, a, sent, period));
      }
      co_await net::async_gather(std::move(pings));
    }
    apply_fence(*st, st->fence.evaluate(known, std::chrono::steady_clock::now()));
    t.expires_at(sent + period);
    if (auto [ec] = co_await t.async_wait(use_nothrow); ec) co_return;
  }
}

awaitable<void> resolve(std::shared_ptr<master_tracker::state> st, std::string reason) {
  if (!st->group || st->group->sentinels.empty()) co_return;
  std::vector<awaitable<std::optional<vote>>> asks;
  for (const auto& [i, a] : st->group->sentinels) asks.push_back(ask(a, st->cfg));
  auto answers = co_await net::async_gather(std::move(asks));
  sentinel::election e;
  e.known = static_cast<int>(st->group->sentinels.size());
  for (auto& a : answers) {
    if (!a || !*a) continue;
    sentinel::ballot b;
    b.config_epoch = (*a)->epoch;
    if ((*a)->addr) b.names = co_await resolved(*(*a)->addr);
    e.ballots.push_back(std::move(b));
  }
  const int answered = static_cast<int>(e.ballots.size());
  st->sentinels_known.store(e.known);
  st->sentinels_answering.store(answered);
  auto cur = st->current();
  if (cur) e.incumbent = cur->addr;
  if (answered == 0) {
    // Every sentinel down: keep a verified master while it still says so.
    if (cur && co_await says_master(cur->addr, st->cfg) != role_answer::not_master) {
      if (st->last_problem != "no sentinel") {
        log::error("proxy", "no sentinel answers; still serving the last verified master",
                   {{"master", cur->addr.to_string()}});
      }
      st->last_problem = "no sentinel";
      co_return;
    }
    st->last_problem = "no sentinel";
    publish(st, std::nullopt, "no sentinel answers and the last master does not say ROLE master");
    co_return;
  }
  // The one election (sentinel/election.hpp): first the sentinels' candidate, then its ROLE.
  auto v = sentinel::elect(e);
  if (!v.candidate) {
    publish(st, std::nullopt,
            v.what == sentinel::verdict::kind::none_monitors
                ? "no sentinel monitors " + st->cfg.master_name
                : v.reason);
    co_return;
  }
  const address best = *v.candidate;
  if (v.disagree) reason += "; sentinels disagree: " + v.reason;
  if (st->paused_master && best == *st->paused_master) {
    if (std::chrono::steady_clock::now() < st->paused_until) {
      // The promotion under way will make it a replica: nothing more may be written to it.
      // The sentinels' +switch-master (or the end of the pause) resolves again.
      publish(st, std::nullopt, "a failover from " + best.to_string() + " is under way");
      co_return;  // checked again after --check-interval
    }
    // The failover did not happen (aborted, or no replica could be promoted): still the master.
    log::warn("proxy", "the failover did not switch the master; serving it again",
              {{"master", best.to_string()}});
    st->paused_master.reset();
  }
  if (st->paused_master && best != *st->paused_master) st->paused_master.reset();
  auto role = co_await says_master(best, st->cfg);
  e.roles[best] = role == role_answer::master ? sentinel::role_seen::master
                  : role == role_answer::busy ? sentinel::role_seen::busy
                                              : sentinel::role_seen::not_master;
  v = sentinel::elect(e);
  if (v.what == sentinel::verdict::kind::busy && cur && cur->addr == best) {
    // The verified master is busy (a long script, loading): still the master. Requests go on
    // to it and get its -BUSY verbatim; a failover still moves the proxy by the sentinels.
    if (st->last_problem != "busy") {
      log::warn("proxy", "the master is busy; keeping it", {{"master", best.to_string()}});
    }
    st->last_problem = "busy";
    co_return;
  }
  if (!v.master) {
    st->last_problem = "role";
    publish(st, std::nullopt, best.to_string() + " does not say ROLE master");
    co_return;
  }
  st->last_problem.clear();
  publish(st, best, reason);
  if (answered >= e.known / 2 + 1) confirm_unfence(*st);
}

void follow(const std::shared_ptr<master_tracker::state>& st) {
  sentinel::follow_settings fs;
  fs.auth = st->cfg.sentinel;
  fs.connect_timeout = st->cfg.timeout;
  fs.channels = {"+switch-master", "+odown", "-odown",
                 "+failover-end",  "+sdown", "+selected-slave"};
  std::weak_ptr<master_tracker::state> weak = st;
  st->followers.follow_sentinels(
      st->group, fs, [weak](const address& where, const sentinel::event& ev) {
        auto st = weak.lock();
        if (!st || ev.master_name != st->cfg.master_name) return;
        if (ev.type == "+sdown" && ev.instance_type != "master") return;
        if (ev.type == "+selected-slave") {
          // The failover's leader is about to promote a replica (a planned SENTINEL FAILOVER
          // or a master found down): the old master stops being served at once, before the
          // replica it would not be able to replicate to takes over.
          auto cur = st->current();
          if (!ev.master_addr || !cur || cur->addr != *ev.master_addr) return;
          st->paused_master = *ev.master_addr;
          st->paused_until = std::chrono::steady_clock::now() + st->cfg.failover_pause;
          publish(st, std::nullopt,
                  "sentinel " + where.to_string() + " selected a replica to promote");
        }
        st->trigger(ev.type + " from sentinel " + where.to_string(), true);
      });
}

}  // namespace

master_tracker::master_tracker(asio::any_io_executor control, tracker_settings s,
                               std::unique_ptr<discovery::source> src)
    : state_(std::make_shared<state>(control, std::move(s), std::move(src))) {}

master_tracker::~master_tracker() {
  state_->followers.stop_all();
}

void master_tracker::stop() {
  state_->followers.stop_all();
}

std::shared_ptr<const master_info> master_tracker::current() const {
  return state_->current();
}

const std::atomic<bool>* master_tracker::fence_flag() const {
  return &state_->fenced;
}

master_tracker::sentinel_health master_tracker::sentinels() const {
  return {state_->sentinels_known.load(), state_->sentinels_answering.load()};
}

void master_tracker::on_change(std::function<void(std::shared_ptr<const master_info>)> f) {
  state_->listeners.push_back(std::move(f));
}

void master_tracker::suspect() {
  constexpr auto k_suspect_interval = std::chrono::milliseconds(250);
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = state_->last_suspect.load(std::memory_order_relaxed);
  auto gap = std::chrono::duration_cast<std::chrono::steady_clock::duration>(k_suspect_interval);
  if (last != 0 && now - last < gap.count()) return;
  if (!state_->last_suspect.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  std::weak_ptr<state> weak = state_;
  asio::post(state_->ex, [weak] {
    if (auto st = weak.lock()) st->trigger("a backend reply said the master moved");
  });
}

awaitable<void> master_tracker::async_run() {
  auto st = state_;
  auto discover = [](std::shared_ptr<state> st) -> awaitable<void> {
    for (;;) {
      auto u = co_await st->source->async_next();
      if (!u) co_return;
      st->group = u->group;
      follow(st);
      st->trigger("discovery");
    }
  };
  auto check = [](std::shared_ptr<state> st) -> awaitable<void> {
    for (;;) {
      if (st->group) {
        auto why = st->pending_reason.empty() ? std::string("periodic check")
                                              : std::exchange(st->pending_reason, {});
        // A sentinel event meanwhile cancels this resolution; the loop starts the next at once.
        auto interrupted = [](std::shared_ptr<state> st) -> awaitable<void> {
          co_await st->urgent.async_wait(use_nothrow);
        };
        using namespace asio::experimental::awaitable_operators;
        co_await (resolve(st, why) || interrupted(st));
      }
      if (!st->pending_reason.empty()) continue;
      st->poke.expires_after(st->cfg.check_interval);
      co_await st->poke.async_wait(use_nothrow);
    }
  };
  using namespace asio::experimental::awaitable_operators;
  co_await (discover(st) && check(st) && heartbeat(st));
  st->followers.stop_all();
}

}  // namespace rsm::proxy
