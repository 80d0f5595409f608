// rsm ctl: the controller (see include/rsm/ctl/controller.hpp for its loop, and
// include/rsm/ctl/plan.hpp for its rules).
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/ctl/controller.hpp"
#include "rsm/ctl/routes.hpp"
#include "rsm/log.hpp"
#include "rsm/metrics/graphite.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/observe/graphite_pusher.hpp"
#include "rsm/observe/report.hpp"
#include "rsm/secret.hpp"

namespace rsm::cli {

option_set ctl_options() {
  option_set s("ctl",
               "Learns the redis nodes and sentinels, bootstraps replication, registers the\n"
               "master with every sentinel, then keeps checking and repairing the group:\n"
               "observe -> plan -> act, every --interval and at once on any change. Never\n"
               "fights Sentinel, never promotes an empty node over one with data.");
  add_discovery_options(s);
  s.text("interval", "10s", "time between passes (also run at once on any change)", {}, "DURATION")
      .text("timeout", "2s", "how long one node may take to answer", {}, "DURATION")
      .text("quorum", "0", "sentinel quorum (0: a majority of the sentinels)", {}, "N")
      .text("down-after", "30s", "SENTINEL SET down-after-milliseconds", {}, "DURATION")
      .text("parallel-syncs", "1", "SENTINEL SET parallel-syncs", {}, "N")
      .text("failover-timeout", "3m", "SENTINEL SET failover-timeout", {}, "DURATION")
      .flag("dry-run", "observe and print each pass's plan without acting")
      .flag("once", "run one pass, print it, and exit")
      .flag("no-promote", "never promote a replica when Sentinel cannot elect one")
      .flag("no-group-marker",
            "do not load the group marker (function library rsm_group_<id>) on the master")
      .text("choose-master", "",
            "the master of a fresh group whose nodes hold data of unrelated histories (the "
            "controller never chooses one then; also POST /choose-master?addr=)",
            {}, "HOST:PORT")
      .text("min-replicas-to-write", "0",
            "CONFIG SET min-replicas-to-write on every node (0: leave alone)", {}, "N")
      .text("min-replicas-max-lag", "10s", "CONFIG SET min-replicas-max-lag on every node", {},
            "DURATION")
      .text("instance", "0",
            "this controller's rank among the group's controllers: the lowest one whose "
            "/status answers acts, the others stand by (0: unknown, always act)",
            {"DEPLOYD_POD_INSTANCE_NO"}, "N")
      .text("ctl-proc", "redis-ctl",
            "procwatcher ProcName of the controllers (the standbys' peers)", {"PROC_CTL_NAME"},
            "NAME")
      .text("peers", "",
            "every controller's --http-listen address in rank order, instead of lainlet's "
            "controllers (static discovery)",
            {}, "HOST:PORT,...")
      .text("http-listen", "127.0.0.1:8091",
            "serve /status, /metrics, and with the admin token POST /pause, /resume, "
            "/choose-master (:PORT: every interface; empty: off)",
            {}, "HOST:PORT")
      .text("monitor-username", "",
            "ACL user the sentinels reach the nodes as (their auth-user; default: --username)", {},
            "USER")
      .secret("monitor-password", "its password (the sentinels' auth-pass; default: --password)")
      .text("admin-token-file", "",
            "file holding the token POST requests need (Authorization: Bearer TOKEN); without "
            "it they are refused",
            {}, "FILE")
      .text("graphite", "",
            "push node metrics to Graphite (default graphite.lain:2003 when LAIN_DOMAIN is set)",
            {}, "HOST:PORT")
      .text("metrics-interval", "60s", "Graphite push period", {}, "DURATION")
      .text("domain", "", "LAIN domain, the Graphite key prefix", {"LAIN_DOMAIN"}, "DOMAIN");
  add_http_options(s);
  return s;
}

namespace {

void print_pass(std::ostream& out, const ctl::pass_report& p, bool dry_run) {
  out << "pass " << p.number << " (" << p.trigger << "): ";
  if (p.plan.actions.empty()) {
    out << "nothing to do";
  } else {
    out << p.plan.actions.size() << " action(s), rule " << p.plan.rule;
  }
  out << "; group " << observe::to_string(p.assessment.level) << "\n";
  for (const auto& n : p.plan.notes) out << "  note: " << n << "\n";
  for (const auto& o : p.outcomes) {
    out << "  " << (dry_run ? "would " : std::string(ctl::to_string(o.result)) + ": ")
        << o.act.describe() << "\n    because " << o.act.reason << "\n";
  }
  out << std::flush;
}

// The admin token (--admin-token-file), or nothing: none given, or unreadable (said on `err`).
std::optional<std::string> read_admin_token(const values& v, std::ostream& err) {
  auto path = v.text("admin-token-file");
  if (path.empty()) return std::nullopt;
  bool world_readable = false;
  auto t = read_secret_file(path, &world_readable);
  if (!t) {
    err << "rsm ctl: --admin-token-file: " << t.error().detail << "\n";
    return std::nullopt;
  }
  if (t->size() < 16) {
    err << "rsm ctl: --admin-token-file: the token is shorter than 16 characters\n";
    return std::nullopt;
  }
  if (world_readable) {
    log::warn("ctl", "the admin token file is readable by every user (chmod 600 it)",
              {{"file", path}});
  }
  return *t;
}

awaitable<void> run_once(ctl::controller* c, duration timeout, int* rc) {
  bool discovered = co_await c->async_discover(timeout);
  if (!discovered) {
    log::error("ctl", "discovery did not answer");
    *rc = 1;
    co_return;
  }
  auto report = co_await c->async_pass("once");
  *rc = report.number > 0 ? 0 : 1;
}

}  // namespace

int run_ctl(const values& v, std::ostream& out, std::ostream& err) {
  ctl::settings s;
  s.cfg.master_name = v.text("master-name");
  s.cfg.quorum = static_cast<int>(v.integer("quorum", 0, 100));
  s.cfg.down_after = v.dur("down-after");
  s.cfg.parallel_syncs = static_cast<int>(v.integer("parallel-syncs", 1, 1000));
  s.cfg.failover_timeout = v.dur("failover-timeout");
  s.cfg.no_promote = v.flag("no-promote");
  s.cfg.group_marker = !v.flag("no-group-marker");
  s.cfg.min_replicas_to_write = static_cast<int>(v.integer("min-replicas-to-write", 0, 1000));
  s.cfg.min_replicas_max_lag = v.dur("min-replicas-max-lag");
  s.interval = v.dur("interval");
  if (s.interval.count() <= 0) throw usage_error("--interval must be more than 0");
  s.cfg.flap_window = std::max(s.interval * 3, duration(std::chrono::seconds(5)));
  s.timeout = v.dur("timeout");
  auto access = access_of(v);
  s.redis = access.redis;
  s.sentinel = access.sentinel;
  s.monitor.username = v.text("monitor-username");
  s.monitor.password = v.text("monitor-password");
  if (!s.monitor.username.empty() && s.monitor.password.empty())
    throw usage_error("--monitor-username needs --monitor-password (or --monitor-password-file)");
  s.dry_run = v.flag("dry-run");
  s.instance = static_cast<int>(v.integer("instance", 0, 1000000));
  s.peers = v.addr_list("peers");
  if (!s.peers.empty() && (s.instance < 1 || s.instance > static_cast<int>(s.peers.size())))
    throw usage_error("--peers needs --instance N, this controller's position in the list");
  bool once = v.flag("once");
  if (s.dry_run || once) {
    s.on_pass = [&out, dry = s.dry_run](const ctl::pass_report& p) { print_pass(out, p, dry); };
  }
  auto graphite = v.addr("graphite");
  auto domain = v.text("domain");
  if (!graphite && !domain.empty()) graphite = address{"graphite.lain", 2003};
  observe::graphite_settings gs;
  gs.every = v.dur("metrics-interval");
  gs.prefix = metrics::graphite_prefix(domain, v.text("app"));
  gs.component = "ctl";

  net::runtime rt({.data_threads = 0, .stop_deadline = std::chrono::seconds(5)});
  reload_tls_on_sighup(rt, s.redis.tls, "client");
  ctl::controller c(rt.control().get_executor(), s, make_discovery(v));
  if (auto chosen = v.addr("choose-master")) c.choose_master(*chosen);
  if (once) {
    int rc = 1;
    rt.spawn("ctl-once", run_once(&c, std::chrono::seconds(10), &rc));
    int r = rt.run();
    return r != 0 ? r : rc;
  }

  std::unique_ptr<net::http_server> http;
  if (auto listen = v.addr("http-listen")) {
    http = open_http(rt, *listen, "ctl", err, http_limits_of(v));
    if (!http) return 1;
    ctl::add_routes(*http, c);
    if (auto token = read_admin_token(v, err)) {
      http->set_admin_token(*token);
    } else if (!v.text("admin-token-file").empty()) {
      return 1;
    }
    log::info("ctl", "serving /status and /metrics",
              {{"addr", http->local_address().to_string()},
               {"admin", v.text("admin-token-file").empty() ? "off (no --admin-token-file)"
                                                            : "with the token"}});
    rt.spawn("ctl-http", http->async_run());
  }
  if (graphite) {
    gs.server = *graphite;
    rt.spawn("ctl-graphite", observe::async_push_graphite(
                                 gs, [&c]() -> const auto& { return c.last_state(); }));
  }
  rt.on_stop([&http, &c] {
    c.stop();
    if (http) http->stop();
  });
  if (!http && (!s.peers.empty() || s.instance > 0)) {
    log::warn("ctl",
              "--http-listen is off: standbys cannot see this controller and may act "
              "beside it");
  }
  log::info("ctl", "starting",
            {{"master-name", s.cfg.master_name},
             {"instance", std::to_string(s.instance)},
             {"interval", to_string(s.interval)},
             {"dry-run", s.dry_run ? "yes" : "no"}});
  rt.spawn("ctl", c.async_run());
  return rt.run();
}

}  // namespace rsm::cli
