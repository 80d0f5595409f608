// rsm watch: every change of the group, as it happens, one line each (the engine is
// include/rsm/observe/watcher.hpp), plus optional Graphite pushes and Prometheus /metrics.
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/log.hpp"
#include "rsm/metrics/graphite.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/observe/graphite_pusher.hpp"
#include "rsm/observe/report.hpp"
#include "rsm/observe/watcher.hpp"

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
  add_http_options(s);
  return s;
}

int run_watch(const values& v, std::ostream& out, std::ostream& err) {
  net::runtime rt({.data_threads = 0, .stop_deadline = std::chrono::seconds(2)});
  observe::watch_settings ws;
  ws.interval = v.dur("interval");
  if (ws.interval.count() <= 0) throw usage_error("--interval must be more than 0");
  ws.assess.max_lag = v.dur("max-lag");
  ws.observe.timeout = v.dur("timeout");
  ws.observe.master_name = v.text("master-name");
  auto access = access_of(v);
  ws.observe.redis = access.redis;
  ws.observe.sentinel = access.sentinel;
  reload_tls_on_sighup(rt, access.redis.tls, "client");
  ws.json = v.flag("json");
  ws.once_master = v.flag("once-master");
  auto graphite = v.addr("graphite");
  observe::graphite_settings gs;
  gs.every = v.dur("metrics-interval");
  gs.prefix = metrics::graphite_prefix(v.text("domain"), v.text("app"));
  gs.component = "watch";
  auto source = make_discovery(v);
  auto described = source->describe();
  observe::watcher w(rt.control().get_executor(), ws, std::move(source),
                     [&out](std::string_view line) { out << line << "\n"
                                                         << std::flush; });

  std::unique_ptr<net::http_server> http;
  if (auto listen = v.addr("metrics-listen")) {
    http = open_http(rt, *listen, "watch", err, http_limits_of(v));
    if (!http) return 1;
    serve_metrics(*http, [&w](metrics::exposition& e) {
      if (w.state()) observe::add_metrics(e, *w.state(), w.last_assessment());
    });
    log::info("watch", "serving metrics", {{"addr", http->local_address().to_string()}});
    rt.spawn("metrics", http->async_run());
  }
  rt.on_stop([&w, &http] {
    w.stop();
    if (http) http->stop();
  });
  log::info("watch", "watching",
            {{"discovery", described}, {"master-name", ws.observe.master_name}});
  rt.spawn("discovery", w.async_follow_discovery());
  rt.spawn("poll", w.async_poll());
  if (graphite) {
    gs.server = *graphite;
    rt.spawn("graphite", observe::async_push_graphite(
                             gs, [&w]() -> const auto& { return w.state(); }));
  }
  return rt.run();
}

}  // namespace rsm::cli
