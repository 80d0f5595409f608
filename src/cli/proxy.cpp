#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/log.hpp"
#include "rsm/net/cores.hpp"
#include "rsm/net/fd_budget.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/proxy/client_budget.hpp"
#include "rsm/proxy/master_tracker.hpp"
#include "rsm/proxy/server.hpp"
#include "rsm/proxy/users_file.hpp"

#include <fstream>
#include <iterator>
#include <thread>

namespace rsm::cli {

option_set proxy_options() {
  option_set s(
      "proxy",
      "Relays every client to the current master: pipelines, MULTI/EXEC/WATCH, pub/sub,\n"
      "blocking commands, SELECT, AUTH. The master comes from the sentinels (or --master).");
  add_discovery_options(s);
  s.text("listen", ":8889", "address clients connect to (empty: none, with --tls-listen)", {},
         "[HOST]:PORT")
      .text("tls-listen", "", "address clients connect to over TLS (off when empty)", {},
            "[HOST]:PORT")
      .text("tls-cert-file", "", "PEM certificate chain of the TLS listener (reread on SIGHUP)", {},
            "FILE")
      .text("tls-key-file", "", "its private key (reread on SIGHUP)", {}, "FILE")
      .text("tls-auth-clients", "no",
            "no, optional or yes: ask TLS clients for a certificate verified against "
            "--tls-ca-cert-file (yes: refuse a client without one)",
            {}, "MODE")
      .text("tls-handshake-timeout", "10s", "close a TLS client whose handshake takes longer", {},
            "DURATION")
      .text("threads", "0", "data-path threads (0: a quarter of the usable cores, 1 to 4)", {}, "N")
      .text("backend-mode", "shared", "shared (multiplex stateless clients) or dedicated (1:1)", {},
            "MODE")
      .text("master", "", "static master address (default: follow the sentinels)", {}, "HOST:PORT")
      .text("auth", "auto",
            "passthrough: Redis checks each client's AUTH or HELLO AUTH, and its requests run as "
            "that ACL user (before AUTH: as nobody); local: clients AUTH to the proxy "
            "(--requirepass); auto: local with --requirepass, else passthrough with clients that "
            "never AUTH running as the proxy's own --username",
            {}, "MODE")
      .secret("requirepass", "password clients must AUTH with (--auth local)")
      .text("users-file", "",
            "with --auth local, users clients may AUTH as besides default: a line each, NAME "
            "SHA256HEX (printf %s PASSWORD | sha256sum); without --requirepass, default is off",
            {}, "FILE")
      .text("max-clients", "10000", "most client connections at once", {}, "N")
      .text("max-shared-lanes", "32",
            "shared connections per thread, one per protocol and db in use", {}, "N")
      .text("client-idle-timeout", "0", "close clients idle this long (0: never)", {}, "DURATION")
      .text("auth-timeout", "10s",
            "with --requirepass, close a client that has not authenticated this long after "
            "connecting (0: never)",
            {}, "DURATION")
      .text("client-output-stall", "300ms",
            "close a client that reads nothing this long while holding over 4 MiB of replies", {},
            "DURATION")
      .text("client-query-limit", "65536",
            "request bytes a client may have unanswered on a shared connection before the proxy "
            "stops reading it",
            {}, "BYTES")
      .text("maxmemory-clients", "auto",
            "bytes all clients together may hold in the proxy's buffers; past it the largest "
            "are closed first, as Redis's client eviction (auto: half the cgroup's memory "
            "limit, else 1gb; 0: no budget)",
            {}, "BYTES")
      .text("partial-request-timeout", "30s",
            "close a client that sent part of a request and not the rest this long (0: never)", {},
            "DURATION")
      .text("reply-timeout", "60s",
            "fail a shared connection whose master owes replies and sends nothing this long (0: "
            "never)",
            {}, "DURATION")
      .text("check-interval", "1s", "how often the master is re-verified", {}, "DURATION")
      .text("failover-hold", "5s", "how long requests wait for a master during a failover", {},
            "DURATION")
      .text("fence-after", "0s",
            "refuse writes after this long without an answer from a majority of the sentinels, "
            "until one answers (0: off; keep it below the sentinels' down-after)",
            {}, "DURATION")
      .text("allow-command", "", "commands to allow despite the topology policy", {}, "CMD,...")
      .text("deny-command", "", "further commands to refuse", {}, "CMD,...")
      .text("metrics-listen", "", "serve Prometheus /metrics here (off when empty)", {},
            "HOST:PORT");
  add_http_options(s);
  return s;
}

int run_proxy(const values& v, std::ostream&, std::ostream& err) {
  proxy::settings s;
  if (auto listen = v.addr("listen")) {
    s.listen = *listen;
  } else {
    s.plain_off = true;
  }
  s.tls_listen = v.addr("tls-listen");
  if (s.plain_off && !s.tls_listen) throw usage_error("--listen is empty and --tls-listen too");
  if (s.tls_listen) {
    net::tls_files f;
    f.cert = v.text("tls-cert-file");
    f.key = v.text("tls-key-file");
    f.ca = v.text("tls-ca-cert-file");
    auto mode = net::parse_client_auth(v.text("tls-auth-clients"));
    if (!mode) throw usage_error("--tls-auth-clients must be no, optional or yes");
    f.clients = *mode;
    if (f.cert.empty() || f.key.empty())
      throw usage_error("--tls-listen needs --tls-cert-file and --tls-key-file");
    if (f.clients != net::client_auth::no && f.ca.empty())
      throw usage_error("--tls-auth-clients " + v.text("tls-auth-clients") +
                        " needs --tls-ca-cert-file");
    auto cfg = net::tls_config::open(net::tls_role::server, f);
    if (!cfg) throw usage_error("--tls-listen: " + cfg.error().detail);
    s.tls = *cfg;
    s.tls_handshake_timeout = v.dur("tls-handshake-timeout");
  } else if (!v.text("tls-cert-file").empty() || !v.text("tls-key-file").empty()) {
    throw usage_error("--tls-cert-file and --tls-key-file need --tls-listen");
  }
  const auto access = access_of(v);
  auto master = v.addr("master");
  if (v.text("backend-mode") != "dedicated" && v.text("backend-mode") != "shared") {
    throw usage_error("--backend-mode must be shared or dedicated");
  }
  if (master) s.master = *master;
  s.backend = v.text("backend-mode") == "dedicated" ? proxy::backend_mode::dedicated
                                                    : proxy::backend_mode::shared;
  s.failover_hold = v.dur("failover-hold");
  s.master_name = v.text("master-name");
  s.backend_auth = access.redis;
  s.requirepass = v.text("requirepass");
  const auto auth = v.text("auth");
  if (auth != "auto" && auth != "local" && auth != "passthrough")
    throw usage_error("--auth must be auto, local or passthrough");
  if (auth == "passthrough" && !s.requirepass.empty())
    throw usage_error("--requirepass is for --auth local (with passthrough, Redis checks AUTH)");
  // auto: local when the proxy has passwords of its own to check (--requirepass, --users-file).
  s.auth_passthrough = auth == "passthrough" ||
                       (auth == "auto" && s.requirepass.empty() && v.text("users-file").empty());
  s.anonymous_as_proxy = auth == "auto";
  if (auto path = v.text("users-file"); !path.empty()) {
    if (s.auth_passthrough)
      throw usage_error("--users-file is for --auth local (with passthrough, Redis's ACL decides)");
    std::ifstream f(path);
    if (!f) throw usage_error("--users-file: cannot read " + path);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto users = proxy::user_table::parse(text);
    if (!users) throw usage_error("--users-file " + path + ": " + users.error().detail);
    if (users->empty()) throw usage_error("--users-file " + path + ": no user in it");
    s.users = std::make_shared<const proxy::user_table>(std::move(*users));
  }
  s.max_clients = static_cast<std::size_t>(v.integer("max-clients", 1, 1000000));
  s.max_shared_lanes = static_cast<std::size_t>(v.integer("max-shared-lanes", 1, 4096));
  s.commands = proxy::policy(proxy::parse_command_list(v.text("allow-command")),
                             proxy::parse_command_list(v.text("deny-command")));
  auto threads = static_cast<std::size_t>(v.integer("threads", 0, 256));
  if (threads == 0) threads = net::default_data_threads(net::available_cores());
  s.client_idle_timeout = v.dur("client-idle-timeout");
  s.auth_timeout = v.dur("auth-timeout");
  s.client_output_stall = v.dur("client-output-stall");
  s.client_query_limit = static_cast<std::size_t>(v.integer("client-query-limit", 4096, 1LL << 30));
  s.reply_timeout = v.dur("reply-timeout");
  s.partial_request_timeout = v.dur("partial-request-timeout");
  {
    auto m = proxy::parse_memory_setting(v.text("maxmemory-clients"));
    if (!m) throw usage_error("--maxmemory-clients must be auto, 0 or bytes (e.g. 512mb, 2gb)");
    s.maxmemory_clients =
        m->is_auto ? proxy::auto_client_budget(proxy::cgroup_memory_limit()) : m->bytes;
  }
  if (s.client_output_stall.count() <= 0) throw usage_error("--client-output-stall must be > 0");
  v.dur("check-interval");  // validated with --master too

  // Descriptors for --max-clients (net/fd_budget.hpp): in dedicated mode two per client (its
  // own and its backend connection), in shared mode one (a pinned client's second one comes
  // out of the headroom; past the limit, accept backs off), and a reserve for the shared
  // lanes, sentinels and HTTP.
  net::fd_budget_input fi;
  fi.soft = net::raise_nofile_limit();
  fi.max_clients = s.max_clients;
  fi.per_client = s.backend == proxy::backend_mode::dedicated ? 2 : 1;
  fi.max_clients_explicit = v.explicitly_set("max-clients");
  fi.reserve = 64 + std::max<std::size_t>(threads, 1) * s.max_shared_lanes;
  auto budget = net::plan_fd_budget(fi);
  if (budget.what == net::fd_budget::verdict::refused) {
    err << "rsm proxy: " << budget.reason << "\n";
    return 1;
  }
  if (budget.what == net::fd_budget::verdict::lowered) {
    log::warn("proxy", "--max-clients lowered to fit the open-file limit",
              {{"why", budget.reason}});
  }
  s.max_clients = budget.max_clients;

  net::runtime rt({.data_threads = threads, .stop_deadline = std::chrono::seconds(5)});
  reload_tls_on_sighup(rt, s.tls, "listener");
  reload_tls_on_sighup(rt, access.redis.tls, "client");
  // Without --master, the master comes from the sentinels (discovery: lainlet or --sentinels).
  std::unique_ptr<proxy::master_tracker> tracker;
  if (!master) {
    proxy::tracker_settings ts;
    ts.master_name = v.text("master-name");
    ts.redis = access.redis;
    ts.sentinel = access.sentinel;
    ts.check_interval = v.dur("check-interval");
    ts.failover_pause = s.failover_hold;
    ts.fence_after = v.dur("fence-after");
    tracker =
        std::make_unique<proxy::master_tracker>(rt.control().get_executor(), ts, make_discovery(v));
  }
  std::unique_ptr<proxy::server> server;
  try {
    server = std::make_unique<proxy::server>(rt, s, tracker.get());
  } catch (const std::exception& e) {
    std::string where = s.plain_off ? std::string() : s.listen.to_string();
    if (s.tls_listen) where += (where.empty() ? "" : " or ") + s.tls_listen->to_string();
    err << "rsm proxy: cannot listen on " << where << ": " << e.what() << "\n";
    return 1;
  }
  std::unique_ptr<net::http_server> http;
  if (auto listen = v.addr("metrics-listen")) {
    http = open_http(rt, *listen, "proxy", err, http_limits_of(v));
    if (!http) return 1;
    serve_metrics(*http, [&server](metrics::exposition& e) { server->add_metrics(e); });
    log::info("proxy", "serving metrics", {{"addr", http->local_address().to_string()}});
    rt.spawn("proxy-metrics", http->async_run());
  }
  rt.on_stop([&server, &tracker, &http] {
    server->stop();
    if (tracker) tracker->stop();
    if (http) http->stop();
  });
  log::info("proxy", "listening",
            {{"addr", s.plain_off ? std::string("off") : server->local_address().to_string()},
             {"tls_addr", s.tls_listen ? server->tls_local_address().to_string() : "off"},
             {"master", master ? s.master.to_string() : "from the sentinels"},
             {"threads", threads},
             {"backend-mode", v.text("backend-mode")},
             {"auth", !s.auth_passthrough    ? "local"
                      : s.anonymous_as_proxy ? "auto (Redis checks AUTH)"
                                             : "passthrough"},
             {"maxmemory-clients", s.maxmemory_clients}});
  if (tracker) rt.spawn("proxy-master-tracker", tracker->async_run());
  rt.spawn("proxy-accept", server->async_run());
  return rt.run();
}

}  // namespace rsm::cli
