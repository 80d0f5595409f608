// rsm up: a complete local service in one process.
//
//   redis-server × N ─┐                 ┌─▶ controller (lainlet client) ─▶ /status /metrics
//   redis-sentinel × M ┼─ procwatcher ──▶ lainlet emulator (HTTP) ─┼─▶ proxy's master tracker ─▶
//   proxy :8889 (children, files   │  data         └─▶ watcher ─▶ event lines on stdout
//    in --dir)         └─ exits polled ─▶ process-exited lines
//
// The controller, the proxy and the watcher each follow the emulator over HTTP, exactly as they
// follow lainlet in LAIN; they share one process and its event loop. The layout (ports,
// configs, command lines) is decided first (rsm/up/layout.hpp); the children are started from
// the main thread before the runtime's threads exist (rsm/up/child.hpp).
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "rsm/ctl/controller.hpp"
#include "rsm/ctl/routes.hpp"
#include "rsm/lainlet/emulator.hpp"
#include "rsm/log.hpp"
#include "rsm/net/http_server.hpp"
#include "rsm/net/runtime.hpp"
#include "rsm/net/timeout.hpp"
#include "rsm/observe/report.hpp"
#include "rsm/observe/watcher.hpp"
#include "rsm/proxy/master_tracker.hpp"
#include "rsm/proxy/server.hpp"
#include "rsm/redis/connection.hpp"
#include "rsm/secret.hpp"
#include "rsm/up/child.hpp"
#include "rsm/up/layout.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

namespace rsm::cli {

namespace fs = std::filesystem;

option_set up_options() {
  option_set s("up",
               "Starts a complete local service in one process: redis-servers and sentinels on\n"
               "free loopback ports, the lainlet emulator serving their procwatcher data, the\n"
               "controller, and the proxy on 127.0.0.1:--port. Prints the group and how to\n"
               "connect, then every change as `rsm watch` does. Ctrl-C or SIGTERM stops it all.");
  s.text("redis", "3", "how many redis-servers", {}, "N")
      .text("sentinels", "3", "how many sentinels", {}, "N")
      .text("dir", "",
            "work directory for configs, logs and data, kept at exit (without it: a\n"
            "new temporary directory, removed at exit)",
            {}, "DIR")
      .text("port", "8889", "the proxy's port on 127.0.0.1 (0: any free port)", {}, "PORT")
      .secret("password", "requirepass of the nodes; clients AUTH to the proxy with it too")
      .text("master-name", "master_service", "the master name the sentinels monitor", {}, "NAME")
      .text("interval", "5s", "the controller's time between passes", {}, "DURATION")
      .text("down-after", "5s", "SENTINEL SET down-after-milliseconds", {}, "DURATION")
      .text("failover-timeout", "30s", "SENTINEL SET failover-timeout", {}, "DURATION")
      .text("ready-timeout", "60s", "how long to wait for a healthy group before going on", {},
            "DURATION")
      .flag("json", "print the event lines as JSON")
      .text("redis-server", "redis-server", "the redis-server program", {}, "PATH")
      .text("redis-sentinel", "redis-sentinel", "the redis-sentinel program", {}, "PATH");
  return s;
}

namespace {

constexpr std::string_view app_name = "redis-service-sm";

struct up_job {
  up::layout layout;
  std::vector<up::child> children;  // one per layout node, same order
  std::string password;
  std::string master_name;
  duration ready_timeout{};
  bool json = false;
  std::ostream* out = nullptr;

  net::runtime* rt = nullptr;
  ctl::controller* controller = nullptr;
  proxy::master_tracker* tracker = nullptr;
  proxy::server* proxy = nullptr;
  observe::watcher* watcher = nullptr;
  net::http_server* ctl_http = nullptr;
  std::string token_file;
  bool started = false;

  void line(const observe::change_event& e) {
    *out << observe::format_line(e, json, std::chrono::system_clock::now()) << "\n" << std::flush;
  }
};

std::string log_tail(const std::string& path, std::size_t bytes = 1500) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > bytes ? "..." + s.substr(s.size() - bytes) : s;
}

// Every child is polled: one that ends is reported (and, before the service is up, fails it).
awaitable<void> watch_children(up_job* job) {
  for (;;) {
    for (std::size_t i = 0; i < job->children.size(); ++i) {
      auto& c = job->children[i];
      if (!c.running()) continue;
      pid_t pid = c.pid();
      if (auto status = c.poll()) {
        const auto& n = job->layout.nodes[i];
        job->line({"process-exited",
                   {{"node", n.name()},
                    {"pid", std::to_string(pid)},
                    {"how", up::describe_exit(*status)},
                    {"log", n.log_path}}});
        if (!job->started) {
          std::cerr << "rsm up: " << n.name() << " " << up::describe_exit(*status)
                    << " while starting; " << n.log_path << " ends with:\n"
                    << log_tail(n.log_path) << "\n";
          job->rt->request_stop(1);
          co_return;
        }
      }
    }
    if (!co_await net::async_sleep(std::chrono::milliseconds(200))) co_return;
  }
}

// PONG (or NOAUTH, from a node with a password we did not send): it serves commands.
awaitable<bool> answers_ping(address a, std::string password) {
  redis::credentials auth;
  auth.password = std::move(password);
  auto o = redis::short_options(a, auth, std::chrono::milliseconds(500), "rsm-up");
  auto c = co_await redis::connection::async_connect(o);
  if (!c) co_return false;
  resp::command ping("PING");
  auto r = co_await c->async_exec(std::move(ping));
  co_return r.has_value() && !r->is_error();
}

awaitable<bool> await_nodes(up_job* job, duration limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (const auto& n : job->layout.nodes) {
    address a{job->layout.host, n.port};
    std::string password;
    if (n.what == up::node::kind::redis) password = job->password;
    for (;;) {
      bool ok = co_await answers_ping(a, password);
      if (ok) break;
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "rsm up: " << n.name() << " does not answer on " << a.to_string() << "; "
                  << n.log_path << " ends with:\n"
                  << log_tail(n.log_path) << "\n";
        co_return false;
      }
      if (!co_await net::async_sleep(std::chrono::milliseconds(50))) co_return false;
    }
  }
  co_return true;
}

void print_banner(up_job* job, std::uint16_t proxy_port, const address& lainlet,
                  const address& ctl) {
  auto& o = *job->out;
  int redis = 0;
  int sentinels = 0;
  for (const auto& n : job->layout.nodes) (n.what == up::node::kind::redis ? redis : sentinels)++;
  std::string port = std::to_string(proxy_port);
  o << "\n"
    << "rsm up: the service is ready: " << redis << " redis-server(s), " << sentinels
    << " sentinel(s), the controller and the proxy\n"
    << "  connect     redis-cli -p " << port << (job->password.empty() ? "" : " --askpass")
    << "   (proxy "
    << "127.0.0.1:" << port << ")\n"
    << "  status      rsm status --lainlet " << lainlet.to_string() << " --ctl " << ctl.to_string()
    << "\n"
    << "  lainlet     " << lainlet.to_string() << "   (emulator, app " << app_name << ")\n"
    << "  controller  " << ctl.to_string() << "   (GET /status /metrics; POST /pause?for= /resume"
    << " with -H \"Authorization: Bearer $(cat " << job->token_file << ")\")\n"
    << "  files       " << job->layout.dir << "   (redis-N/ and sentinel-N/: config, log, data)\n"
    << "Ctrl-C stops everything. Events follow.\n\n"
    << std::flush;
}

// Waits for the controller to make the group healthy, prints it, then reports events.
awaitable<void> start_service(up_job* job, std::uint16_t proxy_port, address lainlet, address ctl) {
  if (!co_await await_nodes(job, std::chrono::seconds(15))) {
    job->rt->request_stop(1);
    co_return;
  }
  job->started = true;
  log::info("up", "every node answers; starting the controller, the proxy and the watcher");
  job->rt->spawn("ctl", job->controller->async_run());
  job->rt->spawn("ctl-http", job->ctl_http->async_run());
  job->rt->spawn("proxy-master-tracker", job->tracker->async_run());
  job->rt->spawn("proxy-accept", job->proxy->async_run());

  auto group = topology::from_procs(job->layout.procs(), "redis", "redis-sentinel");
  observe::settings os;
  os.master_name = job->master_name;
  os.redis.password = job->password;
  os.timeout = std::chrono::seconds(1);
  auto deadline = std::chrono::steady_clock::now() + job->ready_timeout;
  observe::group_state g;
  observe::assessment a;
  for (;;) {
    g = co_await observe::async_observe(group, os);
    a = observe::assess(g, {});
    bool routed = job->tracker->current() != nullptr;
    if ((a.level == observe::health::healthy && routed) ||
        std::chrono::steady_clock::now() > deadline)
      break;
    if (!co_await net::async_sleep(std::chrono::milliseconds(250))) co_return;
  }
  if (a.level == observe::health::healthy) {
    print_banner(job, proxy_port, lainlet, ctl);
  } else {
    *job->out << "\nrsm up: the group is not healthy after " << rsm::to_string(job->ready_timeout)
              << "; it runs on, and the events below tell what happens.\n";
  }
  observe::report_context ctx;
  ctx.discovery = "lainlet emulator " + lainlet.to_string() + " app=" + std::string(app_name);
  ctx.ctl_address = ctl.to_string();
  bool color = job->out == &std::cout && ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
  *job->out << observe::to_table(g, a, ctx, color) << "\n" << std::flush;
  job->rt->spawn("watch-discovery", job->watcher->async_follow_discovery());
  job->rt->spawn("watch-poll", job->watcher->async_poll());
}

std::string make_work_dir(const std::string& given, bool* temporary) {
  if (!given.empty()) {
    std::error_code ec;
    fs::create_directories(given, ec);
    if (ec) throw usage_error("--dir " + given + ": " + ec.message());
    *temporary = false;
    return fs::absolute(given).lexically_normal().string();
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/rsm-up-XXXXXX";
  if (!::mkdtemp(templ.data())) throw std::runtime_error("cannot create a directory like " + templ);
  *temporary = true;
  return templ;
}

// Distinct free ports (free_port may hand out the same one twice in a row).
std::vector<std::uint16_t> pick_ports(std::size_t count, std::set<std::uint16_t>& taken) {
  std::vector<std::uint16_t> out;
  while (out.size() < count) {
    auto p = up::free_port();
    if (!p) throw std::runtime_error("no free port: " + p.error().message());
    if (taken.insert(*p).second) out.push_back(*p);
  }
  return out;
}

}  // namespace

int run_up(const values& v, std::ostream& out, std::ostream& err) {
  // Everything rsm up and its servers write is the user's alone: the configs hold the
  // password, and Sentinel's own rewrite of its config (auth-pass) would otherwise be 0644.
  ::umask(077);
  auto redis_count = static_cast<std::size_t>(v.integer("redis", 1, 64));
  auto sentinel_count = static_cast<std::size_t>(v.integer("sentinels", 1, 15));
  auto port = static_cast<std::uint16_t>(v.integer("port", 0, 65535));
  auto interval = v.dur("interval");
  if (interval.count() <= 0) throw usage_error("--interval must be more than 0");
  auto redis_server = up::find_program(v.text("redis-server"));
  auto redis_sentinel = up::find_program(v.text("redis-sentinel"));
  for (const auto* p : {&redis_server, &redis_sentinel}) {
    if (!*p) {
      err << "rsm up: " << p->error().detail
          << " (on Debian: apt-get install redis-server redis-sentinel)\n";
      return 1;
    }
  }

  up_job job;
  job.password = v.text("password");
  job.master_name = v.text("master-name");
  job.ready_timeout = v.dur("ready-timeout");
  job.json = v.flag("json");
  job.out = &out;
  bool temporary = false;
  auto dir = make_work_dir(v.text("dir"), &temporary);
  std::set<std::uint16_t> taken{port};
  job.layout = up::make_layout(dir, "127.0.0.1", pick_ports(redis_count, taken),
                               pick_ports(sentinel_count, taken));

  net::runtime rt({.data_threads = 1, .stop_deadline = std::chrono::seconds(5)});
  job.rt = &rt;
  auto ex = rt.control().get_executor();
  auto cleanup_dir = [&] {
    if (!temporary) return;
    std::error_code ec;
    fs::remove_all(dir, ec);
  };

  // Everything that listens is bound first, so a busy port fails before any server starts.
  lainlet::emulator emulator(ex, {});
  discovery::lainlet_settings ls;
  ls.server = emulator.local_address();
  ls.app = std::string(app_name);
  ls.heartbeat = std::chrono::seconds(5);

  ctl::settings cs;
  cs.cfg.master_name = job.master_name;
  cs.redis.password = job.password;
  cs.cfg.down_after = v.dur("down-after");
  cs.cfg.failover_timeout = v.dur("failover-timeout");
  // A local stack for development and test suites: a library of rsm's in FUNCTION LIST would
  // surprise the suites that flush and count functions. (Foreign nodes are still recognized
  // by their replication history.)
  cs.cfg.group_marker = false;
  cs.interval = interval;
  cs.cfg.flap_window = std::max(interval * 3, duration(std::chrono::seconds(5)));
  cs.timeout = std::chrono::seconds(2);
  ctl::controller controller(ex, cs, discovery::make_lainlet(ls));
  auto ctl_http = open_http(rt, address{"127.0.0.1", 0}, "up", err);
  if (!ctl_http) {
    cleanup_dir();
    return 1;
  }
  ctl::add_routes(*ctl_http, controller);
  // The controller's admin requests (POST /pause ...) take a token written beside the nodes.
  job.token_file = (fs::path(dir) / "admin.token").string();
  if (auto token = write_new_token_file(job.token_file)) {
    ctl_http->set_admin_token(*token);
  } else {
    err << "rsm up: " << token.error().detail << "\n";
    cleanup_dir();
    return 1;
  }

  proxy::tracker_settings ts;
  ts.master_name = job.master_name;
  ts.redis.password = job.password;
  proxy::master_tracker tracker(ex, ts, discovery::make_lainlet(ls));
  proxy::settings ps;
  ps.listen = address{"127.0.0.1", port};
  ps.master_name = job.master_name;
  ps.backend_auth.password = job.password;
  ps.requirepass = job.password;
  std::unique_ptr<proxy::server> proxy_server;
  try {
    proxy_server = std::make_unique<proxy::server>(rt, ps, &tracker);
  } catch (const std::exception& e) {
    err << "rsm up: cannot listen on " << ps.listen.to_string() << ": " << e.what()
        << " (another rsm up or redis there? choose another --port)\n";
    cleanup_dir();
    return 1;
  }

  observe::watch_settings ws;
  ws.observe.master_name = job.master_name;
  ws.observe.redis.password = job.password;
  ws.observe.timeout = std::chrono::seconds(1);
  ws.interval = std::chrono::seconds(2);
  ws.json = job.json;
  observe::watcher watcher(ex, ws, discovery::make_lainlet(ls), [&out](std::string_view l) {
    out << l << "\n" << std::flush;
  });

  job.controller = &controller;
  job.tracker = &tracker;
  job.proxy = proxy_server.get();
  job.watcher = &watcher;
  job.ctl_http = ctl_http.get();

  // The children, from this (the main) thread: see rsm/up/child.hpp.
  for (const auto& n : job.layout.nodes) {
    std::error_code ec;
    fs::create_directories(n.dir, ec);
    // The config holds requirepass (and Sentinel writes auth-pass into its own): the node's
    // directory is the owner's alone, and so is the file, before a secret is written to it.
    if (!ec) fs::permissions(n.dir, fs::perms::owner_all, ec);
    std::ofstream conf(n.conf_path, std::ios::trunc);
    if (!ec) fs::permissions(n.conf_path, fs::perms::owner_read | fs::perms::owner_write, ec);
    conf << n.config(n.what == up::node::kind::redis ? job.password : std::string());
    conf.close();
    if (ec || !conf) {
      err << "rsm up: cannot write " << n.conf_path << "\n";
      job.children.clear();
      cleanup_dir();
      return 1;
    }
    auto c = up::child::start(n.argv(*redis_server, *redis_sentinel), n.dir, n.log_path);
    if (!c) {
      err << "rsm up: cannot start " << n.name() << ": " << c.error().message() << "\n";
      job.children.clear();
      cleanup_dir();
      return 1;
    }
    log::info("up", "started",
              {{"node", n.name()},
               {"port", static_cast<std::int64_t>(n.port)},
               {"pid", static_cast<std::int64_t>(c->pid())}});
    job.children.push_back(std::move(*c));
  }
  emulator.set_data(lainlet::to_procwatcher_json(job.layout.procs()));

  rt.on_stop([&] {
    log::info("up", "stopping: every server gets SIGTERM");
    for (auto& c : job.children) c.terminate();
    watcher.stop();
    controller.stop();
    tracker.stop();
    ctl_http->stop();
    proxy_server->stop();
    emulator.stop();
  });
  rt.spawn("lainlet-emulator", emulator.async_run());
  rt.spawn("children", watch_children(&job));
  rt.spawn("start", start_service(&job, proxy_server->local_address().port,
                                  emulator.local_address(), ctl_http->local_address()));
  int rc = rt.run();

  // The servers got SIGTERM when the stop began and shut down side by side; whatever still
  // runs after the grace is killed. Nothing is left behind.
  auto grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& c : job.children) {
    auto left = std::chrono::duration_cast<duration>(grace_end - std::chrono::steady_clock::now());
    c.stop(std::max(left, duration(1)));
  }
  job.children.clear();
  cleanup_dir();
  err << "rsm up: stopped" << (temporary ? "" : "; the files stay in " + dir) << "\n";
  return rc;
}

}  // namespace rsm::cli
