// rsm watch: every change of the group, as it happens, one line each.
//
//   discovery ──────────────▶ instance-added/removed/moved ─┐
//   every sentinel's events ─▶ master-switch, sdown, odown ──┼──▶ one line per change
//   poll every --interval ───▶ node/link/lag/health changes ─┘    (text or --json)
//
// A master switch is printed once, from whichever source sees it first (usually a sentinel's
// +switch-master); the poll catches what events can miss.
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/log.hpp"
#include "rsm/metrics/graphite.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/changes.hpp"
#include "rsm/observe/observer.hpp"
#include "rsm/observe/report.hpp"
#include "rsm/sentinel/follower.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>
#include <list>
#include <map>
#include <set>

namespace rsm::cli {

option_set watch_options() {
  option_set s("watch",
               "Follows discovery, the sentinels' events and the nodes, and prints one line per\n"
               "change as it happens: master switched, node up/down, role changed, replication\n"
               "link down/up, lag past threshold, sentinel sdown/odown, instance\n"
               "added/removed/moved.");
  add_discovery_options(s);
  s.text("interval", "5s", "how often the nodes are polled", {}, "DURATION")
      .text("max-lag", "10s", "replication lag reported as a problem", {}, "DURATION")
      .text("timeout", "2s", "how long one poll waits for a node", {}, "DURATION")
      .flag("json", "print JSON lines")
      .flag("once-master", "print only the master address, each time it changes")
      .text("graphite", "", "push node metrics to Graphite (the original's keys)", {}, "HOST:PORT")
      .text("metrics-interval", "60s", "Graphite push period", {}, "DURATION")
      .text("domain", "", "LAIN domain, the Graphite key prefix", {"LAIN_DOMAIN"}, "DOMAIN")
      .text("metrics-listen", "", "serve Prometheus /metrics here (off when empty)", {},
            "HOST:PORT");
  return s;
}

namespace {

struct watch_job {
  explicit watch_job(asio::any_io_executor ex)
      : poke(ex, asio::steady_timer::time_point::max()), followers(ex) {}

  std::unique_ptr<discovery::source> source;
  observe::settings observe;
  observe::assess_settings assess;
  duration interval{};
  bool json = false;
  bool once_master = false;
  std::string app;
  std::string domain;
  std::optional<address> graphite;
  duration metrics_interval{};
  std::ostream* out = nullptr;

  std::optional<topology::group> group;
  std::optional<observe::group_state> state;
  observe::assessment assessment;
  std::optional<address> master;
  /// Cancelled to make the poller observe at once.
  asio::steady_timer poke;
  sentinel::follower_set followers;

  void print(const observe::change_event& e) {
    if (once_master) return;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    std::string line;
    char ts[64];
    if (json) {
      gmtime_r(&t, &tm);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
      std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartObject();
      w.Key("time");
      w.String(ts);
      w.Key("event");
      w.String(e.kind.c_str(), static_cast<rapidjson::SizeType>(e.kind.size()));
      for (const auto& [k, v] : e.fields) {
        w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
      }
      w.EndObject();
      line.assign(buf.GetString(), buf.GetSize());
    } else {
      localtime_r(&t, &tm);
      std::snprintf(ts, sizeof ts, "%04d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      line = std::string(ts) + " " + e.kind;
      for (const auto& [k, v] : e.fields) {
        bool quote = v.empty() || v.find(' ') != std::string::npos;
        line += " " + k + "=" + (quote ? "\"" + v + "\"" : v);
      }
    }
    *out << line << "\n" << std::flush;
  }

  void set_master(std::optional<address> m, const std::string& source) {
    if (m == master) return;
    auto old = master;
    master = m;
    if (once_master) {
      if (m) *out << m->to_string() << "\n" << std::flush;
      return;
    }
    if (!m) {
      print({"master-unknown", {{"old", old ? old->to_string() : ""}, {"source", source}}});
    } else if (!old) {
      print({"master", {{"addr", m->to_string()}, {"source", source}}});
    } else {
      print({"master-switch", {{"old", old->to_string()}, {"new", m->to_string()}, {"source", source}}});
    }
  }
};

void reconcile_subscribers(watch_job* job) {
  std::set<address> wanted;
  if (job->group) {
    for (const auto& [inst, a] : job->group->sentinels) wanted.insert(a);
  }
  job->followers.update(wanted, [job](address where) {
    sentinel::follow_settings fs;
    fs.sentinel = where;
    fs.password = job->observe.sentinel_password;
    fs.connect_timeout = job->observe.timeout;
    sentinel::follow_handlers h;
    h.on_subscribed = [job, where] { job->print({"sentinel-subscribed", {{"sentinel", where.to_string()}}}); };
    h.on_event = [job, where](const sentinel::event& ev) {
      if (ev.type == "+switch-master" && ev.master_name == job->observe.master_name && ev.master_addr) {
        job->set_master(ev.master_addr, "sentinel " + where.to_string());
        job->poke.cancel();
      } else if (auto line = observe::from_sentinel(ev, job->observe.master_name, where)) {
        job->print(*line);
        job->poke.cancel();
      }
    };
    return sentinel::async_follow(std::move(fs), std::move(h));
  });
}

awaitable<void> discovery_loop(watch_job* job) {
  for (;;) {
    auto u = co_await job->source->async_next();
    if (!u) co_return;
    for (const auto& e : observe::from_discovery(u->changes)) job->print(e);
    job->group = u->group;
    reconcile_subscribers(job);
    job->poke.cancel();
  }
}

awaitable<void> poll_loop(watch_job* job) {
  for (;;) {
    if (job->group) {
      auto g = co_await observe::async_observe(*job->group, job->observe);
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
      auto a = observe::assess(g, job->assess);
      if (job->state) {
        for (const auto& e : observe::compare(*job->state, job->assessment, g, a, job->assess)) {
          job->print(e);
        }
      } else {
        job->print({"health", {{"to", std::string(observe::to_string(a.level))},
                               {"reasons", [&] {
                                  std::string r;
                                  for (const auto& x : a.reasons) r += (r.empty() ? "" : "; ") + x;
                                  return r;
                                }()}}});
      }
      job->set_master(a.master, "poll");
      job->state = std::move(g);
      job->assessment = std::move(a);
    }
    job->poke.expires_after(job->interval);
    co_await job->poke.async_wait(use_nothrow);  // the interval, or a poke
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

awaitable<void> graphite_loop(watch_job* job) {
  auto prefix = metrics::graphite_prefix(job->domain, job->app);
  for (;;) {
    if (!co_await net::async_sleep(job->metrics_interval)) co_return;
    if (!job->state) continue;
    auto payload = observe::graphite_payload(*job->state, prefix, std::chrono::system_clock::now());
    if (payload.empty()) continue;
    auto r = co_await metrics::async_graphite_push(*job->graphite, std::move(payload), std::chrono::seconds(5));
    if (!r) {
      log::warn("watch", "graphite push failed", {{"graphite", job->graphite->to_string()}, {"error", r.error().message()}});
    }
  }
}

}  // namespace

int run_watch(const values& v, std::ostream& out, std::ostream& err) {
  net::runtime rt({.data_threads = 0, .stop_deadline = std::chrono::seconds(2)});
  watch_job job(rt.control().get_executor());
  job.interval = v.dur("interval");
  if (job.interval.count() <= 0) throw usage_error("--interval must be more than 0");
  job.assess.max_lag = v.dur("max-lag");
  job.observe.timeout = v.dur("timeout");
  job.observe.master_name = v.text("master-name");
  job.observe.password = v.text("password");
  job.observe.sentinel_password = v.text("sentinel-password");
  job.json = v.flag("json");
  job.once_master = v.flag("once-master");
  job.app = v.text("app");
  job.domain = v.text("domain");
  job.graphite = v.addr("graphite");
  job.metrics_interval = v.dur("metrics-interval");
  job.out = &out;
  job.source = make_discovery(v);

  std::unique_ptr<net::http_server> http;
  if (auto listen = v.addr("metrics-listen")) {
    try {
      http = std::make_unique<net::http_server>(rt.control().get_executor(), *listen);
    } catch (const std::exception& e) {
      err << "rsm watch: cannot listen on " << listen->to_string() << ": " << e.what() << "\n";
      return 1;
    }
    http->route("/metrics", [&job](const net::http_request_info&) {
      metrics::exposition e;
      if (job.state) observe::add_metrics(e, *job.state, job.assessment);
      return net::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", e.text()};
    });
    log::info("watch", "serving metrics", {{"addr", http->local_address().to_string()}});
    rt.spawn("metrics", http->async_run());
  }
  rt.on_stop([&job, &http] {
    job.followers.stop_all();
    if (http) http->stop();
  });
  log::info("watch", "watching", {{"discovery", job.source->describe()}, {"master-name", job.observe.master_name}});
  rt.spawn("discovery", discovery_loop(&job));
  rt.spawn("poll", poll_loop(&job));
  if (job.graphite) rt.spawn("graphite", graphite_loop(&job));
  return rt.run();
}

}  // namespace rsm::cli
