#include "rsm/cli/app.hpp"

#include "rsm/cli/commands.hpp"
#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/log.hpp"

#include <fstream>
#include <sstream>

namespace rsm::cli {

const std::vector<command_entry>& commands() {
  static const std::vector<command_entry> table = {
      {"proxy", "RESP proxy that relays every client to the current master", proxy_options,
       run_proxy},
      {"ctl", "controller: bootstrap replication and Sentinel, keep the group healthy", ctl_options,
       run_ctl},
      {"watch", "follow lainlet, the sentinels and the nodes; print every change", watch_options,
       run_watch},
      {"status", "print the whole group at a glance (or as JSON)", status_options, run_status},
      {"up", "start a complete local service (redis, sentinels, lainlet emulator, ctl, proxy)",
       up_options, run_up},
      {"lainlet", "a lainlet-compatible emulator serving procwatcher data from a file",
       lainlet_options, run_lainlet},
      {"version", "print version, commit, build type and library versions", version_options,
       run_version},
  };
  return table;
}

namespace {

std::string top_help() {
  std::string h =
      "Usage: rsm <command> [options]\n\n"
      "rsm runs a single-master Redis service (one master, N replicas, watched by a Redis\n"
      "Sentinel group) on LAIN or anywhere else.\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string name(c.name);
    name.resize(10, ' ');
    h += "  " + name + std::string(c.summary) + "\n";
  }
  h += "\nRun 'rsm <command> --help' for the options of a command.\n";
  return h;
}

}  // namespace

void add_discovery_options(option_set& set) {
  set.text("lainlet", "lainlet.lain:9001",
           "lainlet address (used unless --redis/--sentinels/--topology)", {"LAINLET_ADDR"},
           "HOST:PORT")
      .text("app", "redis-service-sm", "the service's LAIN app name", {"LAIN_APPNAME"}, "NAME")
      .text("redis-proc", "redis", "procwatcher ProcName of the redis nodes", {"PROC_REDIS_NAME"},
            "NAME")
      .text("sentinel-proc", "redis-sentinel", "procwatcher ProcName of the sentinels",
            {"PROC_SENTINEL_NAME", "PROC_SENTILE_NAME"}, "NAME")
      .text("redis", "", "static redis node list instead of lainlet", {}, "HOST:PORT,...")
      .text("sentinels", "", "static sentinel list instead of lainlet", {}, "HOST:PORT,...")
      .text("topology", "", "procwatcher JSON file instead of lainlet", {}, "FILE")
      .text("master-name", "master_service", "the master name the sentinels monitor", {}, "NAME")
      .text("username", "", "ACL user of rsm's connections to the redis nodes (default: default)",
            {}, "NAME")
      .secret("password", "password of the redis nodes (requirepass/masterauth, or --username's)")
      .text("sentinel-username", "", "ACL user of rsm's connections to the sentinels", {}, "NAME")
      .secret("sentinel-password", "password of the sentinels");
  add_tls_client_options(set);
}

void add_tls_client_options(option_set& set) {
  set.flag("tls", "reach the redis nodes and the sentinels over TLS")
      .text("tls-ca-cert-file", "",
            "PEM CA bundle their certificates are verified against (default: the system's)", {},
            "FILE")
      .text("tls-client-cert-file", "", "PEM certificate rsm presents to them (mutual TLS)", {},
            "FILE")
      .text("tls-client-key-file", "", "its private key", {}, "FILE");
}

std::shared_ptr<net::tls_config> tls_client_of(const values& v) {
  if (!v.flag("tls")) {
    // (The proxy's TLS listener verifies clients against --tls-ca-cert-file too.)
    const bool ca_for_listener = v.has("tls-listen");
    if (!v.text("tls-client-cert-file").empty() || !v.text("tls-client-key-file").empty() ||
        (!ca_for_listener && !v.text("tls-ca-cert-file").empty())) {
      throw usage_error("--tls-ca-cert-file and --tls-client-* need --tls");
    }
    return nullptr;
  }
  net::tls_files f;
  f.ca = v.text("tls-ca-cert-file");
  f.cert = v.text("tls-client-cert-file");
  f.key = v.text("tls-client-key-file");
  auto cfg = net::tls_config::open(net::tls_role::client, f);
  if (!cfg) throw usage_error("--tls: " + cfg.error().detail);
  return *cfg;
}

backend_access access_of(const values& v) {
  backend_access a;
  a.redis.username = v.text("username");
  a.redis.password = v.text("password");
  a.sentinel.username = v.text("sentinel-username");
  a.sentinel.password = v.text("sentinel-password");
  a.redis.tls = a.sentinel.tls = tls_client_of(v);
  return a;
}

void reload_tls_on_sighup(net::runtime& rt, std::shared_ptr<net::tls_config> tls,
                          std::string what) {
  if (!tls) return;
  rt.on_reload([tls = std::move(tls), what = std::move(what)] {
    if (auto r = tls->reload(); !r) {
      log::error("tls", "certificates not reloaded: the old ones stay",
                 {{"what", what}, {"error", r.error().detail}});
    } else {
      log::info("tls", "certificates reloaded", {{"what", what}});
    }
  });
}

std::unique_ptr<discovery::source> make_discovery(const values& v) {
  const std::string ctl_proc = v.has("ctl-proc") ? v.text("ctl-proc") : "redis-ctl";
  auto redis = v.addr_list("redis");
  auto sentinels = v.addr_list("sentinels");
  auto file = v.text("topology");
  if (!file.empty() && (!redis.empty() || !sentinels.empty())) {
    throw usage_error("--topology and --redis/--sentinels exclude each other");
  }
  if (!redis.empty() || !sentinels.empty()) {
    return discovery::make_static(topology::from_lists(redis, sentinels),
                                  "static --redis/--sentinels");
  }
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw usage_error("--topology: cannot read '" + file + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    auto procs = lainlet::parse_procwatcher(ss.str());
    if (!procs) throw usage_error("--topology '" + file + "': " + procs.error().detail);
    return discovery::make_static(
        topology::from_procs(*procs, v.text("redis-proc"), v.text("sentinel-proc"), ctl_proc),
        "static --topology " + file);
  }
  discovery::lainlet_settings s;
  s.server = *v.addr("lainlet");
  s.app = v.text("app");
  s.redis_proc = v.text("redis-proc");
  s.sentinel_proc = v.text("sentinel-proc");
  s.ctl_proc = ctl_proc;
  return discovery::make_lainlet(std::move(s));
}

void add_http_options(option_set& set) {
  const net::http_limits d;
  set.text("http-max-connections", std::to_string(d.max_connections),
           "HTTP connections at once on this command's listener (more are closed at accept)", {},
           "N")
      .text("http-header-timeout", to_string(d.header_timeout),
            "close an HTTP connection that has not sent a whole request within this (also the "
            "keep-alive idle time)",
            {}, "DURATION");
}

net::http_limits http_limits_of(const values& v) {
  net::http_limits l;
  l.max_connections = static_cast<std::size_t>(v.integer("http-max-connections", 1, 100000));
  l.header_timeout = v.dur("http-header-timeout");
  if (l.header_timeout.count() <= 0) throw usage_error("--http-header-timeout must be more than 0");
  return l;
}

std::unique_ptr<net::http_server> open_http(net::runtime& rt, const address& listen,
                                            std::string_view command, std::ostream& err,
                                            net::http_limits limits) {
  try {
    return std::make_unique<net::http_server>(rt.control().get_executor(), listen, limits);
  } catch (const std::exception& e) {
    err << "rsm " << command << ": cannot listen on " << listen.to_string() << ": " << e.what()
        << "\n";
    return nullptr;
  }
}

void serve_metrics(net::http_server& http, std::function<void(metrics::exposition&)> fill) {
  http.route("/metrics", [fill = std::move(fill), &http](const net::http_request_info&) {
    metrics::exposition e;
    fill(e);
    http.add_metrics(e);
    return net::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", e.text()};
  });
}

void apply_logging(const values& v) {
  log::set_level(*log::parse_level(v.text("log-level")));
  log::set_format(*log::parse_format(v.text("log-format")));
}

int run(const std::vector<std::string>& args, const env_lookup& env, std::ostream& out,
        std::ostream& err) {
  if (args.empty()) {
    err << "rsm: missing command; try 'rsm --help'\n";
    return 2;
  }
  const auto& first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    out << top_help();
    return 0;
  }
  if (first == "--version") {
    return run(std::vector<std::string>{"version"}, env, out, err);
  }
  for (const auto& c : commands()) {
    if (c.name != first) continue;
    auto set = c.options();
    try {
      auto v = parse(set, std::vector<std::string>(args.begin() + 1, args.end()), env);
      if (v.help()) {
        out << set.help();
        return 0;
      }
      if (v.flag("print-config")) {
        out << v.dump();
        return 0;
      }
      apply_logging(v);
      return c.run(v, out, err);
    } catch (const usage_error& e) {
      err << "rsm " << c.name << ": " << e.what() << "; try 'rsm " << c.name << " --help'\n";
      return 2;
    }
  }
  err << "rsm: unknown command '" << first << "'; try 'rsm --help'\n";
  return 2;
}

}  // namespace rsm::cli
